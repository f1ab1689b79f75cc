"""Pages and images of the payment flow (not JSON)."""

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from . import gateway, selectors
from .exceptions import OrderNotFound


def _order_or_404(order_number: str):
    try:
        return selectors.order_get(order_number=order_number)
    except OrderNotFound:
        raise Http404("订单不存在") from None


def payment_link(request, order_number: str) -> str:
    """The link a payer's phone opens from the QR code: the sandbox checkout page."""
    return request.build_absolute_uri(reverse("sandbox-checkout", args=[order_number]))


@require_GET
@cache_control(public=True, max_age=3600)
def qr_code(request, order_number: str) -> HttpResponse:
    """The order's payment QR code as SVG. Public: the order number is unguessable, and the
    image only carries the link to pay."""
    order = _order_or_404(order_number)
    svg = gateway.qr_code_svg(payment_link(request, order.order_number))
    return HttpResponse(svg, content_type="image/svg+xml")


@require_GET
def sandbox_checkout(request, order_number: str) -> HttpResponse:
    """What a payer's phone shows in sandbox mode; absent (404) with a real gateway."""
    if not settings.PAYMENT_SANDBOX:
        raise Http404()
    order = _order_or_404(order_number)
    return render(request, "payments/checkout.html", {"order": order})
