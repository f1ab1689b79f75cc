"""The sandbox's pages: the checkout a payer's phone opens from the QR code, and its two
buttons (also on the VIP page). Absent (404) unless PAYMENT_SANDBOX is on."""

import json
from http import HTTPStatus

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vipplatform.api import http_status
from vipplatform.exceptions import DomainError
from vipplatform.links import site_url
from vipplatform.views import json_error

from ... import links, renewals, selectors
from ...exceptions import AgreementNotFound, OrderNotFound
from ...models import GatewayResult
from ..base import AgreementReport
from . import SandboxProvider, set_short_balance


def _order_or_404(order_number: str):
    try:
        return selectors.order_get(order_number=order_number)
    except OrderNotFound:
        raise Http404("订单不存在") from None


def _require_sandbox() -> None:
    if not settings.PAYMENT_SANDBOX:
        raise Http404()


def _require_payer(request, order_number: str):
    """The order, for whoever holds its QR code (the link's token) or is its buyer; a 404,
    as for a missing order, to anyone who only knows its number."""
    order = _order_or_404(order_number)
    if not links.may_pay(request, order):
        raise Http404("订单不存在")
    return order


@require_GET
@never_cache  # an order's details (Cache-Control: private, no-store)
def sandbox_checkout(request, order_number: str) -> HttpResponse:
    """What a payer's phone shows in sandbox mode (the QR code's link, with its token); absent
    (404) otherwise."""
    _require_sandbox()
    order = _require_payer(request, order_number)
    simulate = links.with_token(reverse("sandbox-pay", args=[order.order_number]), order_number)
    return render(request, "payments/checkout.html", {"order": order, "simulate_url": simulate})


@require_POST
def sandbox_pay(request, order_number: str) -> JsonResponse:
    """A payer presses 「模拟支付成功」 or 「模拟支付失败」: the sandbox gateway books it and
    notifies our callback, as a real gateway would. CSRF-protected; for the holder of the QR
    code's link (no login needed, like the payer's phone) or the logged-in buyer (the VIP
    page's buttons)."""
    _require_sandbox()
    try:
        _require_payer(request, order_number)
    except Http404:
        return json_error(request, HTTPStatus.NOT_FOUND, "订单不存在")
    try:
        result = json.loads(request.body or b"{}").get("status")
    except (ValueError, AttributeError):
        result = None
    if result not in GatewayResult.values:
        return json_error(request, HTTPStatus.BAD_REQUEST, "status 必须是 SUCCESS 或 FAILED")
    # A configured address, never one taken from the request (its Host header is the caller's).
    notify_url = settings.PAYMENT_SANDBOX_NOTIFY_URL or site_url(reverse("payments:callback"))
    try:
        payment = SandboxProvider().pay(
            order_number=order_number, result=result, notify_url=notify_url
        )
    except DomainError as exc:
        return json_error(request, http_status(exc), exc.message)
    return JsonResponse({"orderId": payment.order_number, "status": payment.result})


@require_http_methods(["GET", "POST"])
@never_cache
def sandbox_agreement(request, agreement_number: str) -> HttpResponse:
    """The sandbox's signing page, what the member's phone opens from the signing QR code:
    同意并开通 signs; 在支付应用中关闭自动扣费 unsigns (as the provider's app); 余额不足 makes
    the next charges fail. Each tells the platform at once, as the provider's notification
    would. For the member (logged in) only; 404 unless PAYMENT_SANDBOX is on."""
    _require_sandbox()
    if not request.user.is_authenticated:
        raise Http404()
    try:
        agreement = selectors.agreement_get(agreement_number=agreement_number)
    except AgreementNotFound:
        raise Http404() from None
    if agreement.user_id != request.user.pk or agreement.provider != SandboxProvider.name:
        raise Http404()
    message = ""
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action in ("sign", "unsign"):
                renewals.agreement_noticed(
                    SandboxProvider(),
                    AgreementReport(
                        agreement_number=agreement.agreement_number,
                        signed=action == "sign",
                        provider_agreement_id=f"SANDBOX-{agreement.agreement_number}",
                        by_member=True,
                    ),
                )
                message = "已开通自动扣费，请回到电脑查看" if action == "sign" else "已关闭自动扣费"
            elif action == "short":
                set_short_balance(agreement.agreement_number, 3)
                message = "之后3次扣款将因余额不足失败"
        except DomainError as exc:
            message = exc.message
        agreement.refresh_from_db()
    return render(
        request, "payments/sandbox_agreement.html", {"agreement": agreement, "message": message}
    )
