"""An order's links that only the holder of its QR code may use: the QR code image and the
sandbox's checkout. Each carries a token (`?t=`), an HMAC of the order number under the site's
secret key: unguessable, nothing stored, and a phone that scans the code needs no login, as
with a real provider's code. Knowing an order number is not enough."""

from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

from vipplatform.links import site_url

TOKEN_PARAMETER = "t"


def order_token(order_number: str) -> str:
    return salted_hmac("payments.links.order", order_number).hexdigest()[:32]


def holds_token(request, order_number: str) -> bool:
    given = request.GET.get(TOKEN_PARAMETER, "")
    return constant_time_compare(given, order_token(order_number))


def may_pay(request, order) -> bool:
    """Whether the requester holds the order's QR code (its link's token) or is its buyer:
    who may open the code, the sandbox checkout and its buttons."""
    return holds_token(request, order.order_number) or order.user_id == request.user.pk


def with_token(path: str, order_number: str) -> str:
    """`path` (an absolute URL or a path) with the order's token."""
    return f"{path}?{TOKEN_PARAMETER}={order_token(order_number)}"


def qr_code_url(order_number: str) -> str:
    return site_url(with_token(reverse("payments:qrcode", args=[order_number]), order_number))


def checkout_url(order_number: str) -> str:
    """The sandbox checkout a sandbox order's QR code opens."""
    return site_url(with_token(reverse("sandbox-checkout", args=[order_number]), order_number))
