"""The server-rendered side of payments: the VIP purchase page, the QR code image, and the
sandbox checkout a payer's phone opens."""

import json
import logging
from http import HTTPStatus

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from rest_framework.exceptions import ParseError, ValidationError

from vipplatform.api import http_status
from vipplatform.exceptions import DomainError
from vipplatform.links import site_url
from vipplatform.throttling import RefusedNotificationThrottle
from vipplatform.views import json_error

from . import links, notifications, selectors
from .exceptions import OrderNotFound
from .gateways import available_methods, provider_for, provider_named
from .gateways.sandbox import SandboxProvider
from .models import GatewayResult, PaymentMethod

logger = logging.getLogger(__name__)


def _order_or_404(order_number: str):
    try:
        return selectors.order_get(order_number=order_number)
    except OrderNotFound:
        raise Http404("订单不存在") from None


def _require_sandbox() -> None:
    if not settings.PAYMENT_SANDBOX:
        raise Http404()


# What the page's script says, translated here and handed over with `json_script`.
PAGE_TEXT = {
    "paid": _("支付成功！VIP权限已开通"),
    "pending": _("等待支付…"),
    "cancelled": _("支付失败，订单已取消。"),
    "expired": _("订单已过期，未完成支付。"),
    "creating": _("正在创建订单…"),
    "network": _("网络错误，正在重试："),
    "failed": _("操作失败："),
    "memberUntil": _("会员有效期至"),
    "noEnd": _("长期有效"),
    "noOrders": _("还没有订单"),
    "sent": _("已提交模拟支付，等待网关通知…"),
}


@require_GET
@login_required
@never_cache  # the member's orders and membership (Cache-Control: private, no-store)
def vip_page(request):
    user = request.user
    context = {
        "plans": selectors.plans_for_sale(),
        # Only the methods a provider serves; a pretend one's get the simulated-payment buttons.
        "payment_methods": [
            (method, PaymentMethod(method).label, provider_for(method).simulated)
            for method in available_methods()
        ],
        "recent_orders": list(selectors.order_list_for_user(user_id=user.pk)[:5]),
        "vip_active": user.vip_active(),
        "sandbox": settings.PAYMENT_SANDBOX,
        "page_config": {
            "userId": user.pk,
            "generateUrl": reverse("payments:generate-qrcode"),
            "statusUrl": reverse("payments:status", args=["ORDER"]),
            "ordersUrl": reverse("payments:user-orders", args=[user.pk]) + "?size=5",
            "currentUserUrl": reverse("users:current"),
            "simulateUrl": reverse("sandbox-pay", args=["ORDER"]),
            "pollMilliseconds": 2000,
        },
        "page_text": PAGE_TEXT,
    }
    return render(request, "payments/vip.html", context)


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


@csrf_exempt
@require_POST
def provider_notification(request, provider_name: str) -> HttpResponse:
    """`POST /api/payment/notify/<name>`: a provider's notification (a provider with its own
    route, `Provider.notify_route`), verified and parsed by that provider, then the one shared
    path (`payments.notifications`); answered in the provider's own terms (WeChat Pay: 204, or
    4xx/5xx `{"code": "FAIL", ...}`; Alipay: `success`, or `fail`), so that it resends what was
    not taken."""
    provider = provider_named(provider_name)
    if provider is None or not provider.notify_route:
        return JsonResponse({"code": "FAIL", "message": "支付渠道未配置"}, status=404)
    refusals = RefusedNotificationThrottle()
    try:
        order, _ = notifications.notification_handle(
            provider,
            body=request.body,
            headers=request.headers,
            remote_addr=request.META.get("REMOTE_ADDR"),
            may_record_refusal=lambda: refusals.allow_request(request, None),
        )
    except DomainError as exc:
        return provider.refuse(http_status(exc), exc.message)
    except (ValidationError, ParseError) as exc:
        return provider.refuse(HTTPStatus.BAD_REQUEST, str(exc.detail))
    except DatabaseError:
        logger.exception("%s notification not processed: database error", provider.name)
        return provider.refuse(HTTPStatus.SERVICE_UNAVAILABLE, "系统繁忙，请稍后重试")
    return provider.acknowledge(order)
