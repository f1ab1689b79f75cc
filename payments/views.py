"""The server-rendered side of payments: the VIP purchase page, the QR code image, and the
providers' notifications."""

import logging
from http import HTTPStatus

from django.contrib.auth.decorators import login_required
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from rest_framework.exceptions import ParseError, ValidationError

from vipplatform.api import http_status
from vipplatform.exceptions import DomainError
from vipplatform.throttling import RefusedNotificationThrottle

from . import notifications, selectors
from .gateways import agreement_methods, available_methods, provider_for, provider_named
from .models import AgreementState, PaymentMethod

logger = logging.getLogger(__name__)


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
    "signing": _("请用手机扫码，在支付平台同意自动扣费…"),
    "signed": _("已开通自动续费，首期正在扣款…"),
    "signLapsed": _("签约二维码已过期，请重新开通。"),
    "cancelConfirm": _("确定取消自动续费吗？取消后不再扣款，已付费的会员期照常有效。"),
}


def _renewal_context(user, now) -> dict:
    """The 连续包月 part of the page: the plans with their terms, the member's agreement in
    force (or being signed), and the last ones that ended."""
    # The agreement in force or being signed, and the last ones that ended: one query.
    mine = list(
        selectors.agreements_of(user_id=user.pk).exclude(
            state__in=[AgreementState.SIGNING, AgreementState.LAPSED], sign_deadline__lte=now
        )[:4]
    )
    current = next(
        (a for a in mine if a.state in (AgreementState.ACTIVE, AgreementState.SIGNING)), None
    )
    return {
        "past_agreements": [a for a in mine if a.ended_at is not None][:3],
        "renewal_plans": selectors.renewing_plans(now=now),
        "renewal_methods": [(m, PaymentMethod(m).label) for m in agreement_methods()],
        "agreement": current,
    }


@require_GET
@login_required
@never_cache  # the member's orders and membership (Cache-Control: private, no-store)
def vip_page(request):
    user = request.user
    # Only the methods a provider serves; a pretend one's get the simulated-payment buttons.
    methods = [
        (method, PaymentMethod(method).label, provider_for(method).simulated)
        for method in available_methods()
    ]
    context = {
        "plans": selectors.plans_for_sale(),
        "payment_methods": methods,
        "simulated": any(simulated for _, _, simulated in methods),
        "recent_orders": list(selectors.order_list_for_user(user_id=user.pk)[:5]),
        "vip_active": user.vip_active(),
        **_renewal_context(user, timezone.now()),
        "page_config": {
            "userId": user.pk,
            "generateUrl": reverse("payments:generate-qrcode"),
            "statusUrl": reverse("payments:status", args=["ORDER"]),
            "ordersUrl": reverse("payments:user-orders", args=[user.pk]) + "?size=5",
            "currentUserUrl": reverse("users:current"),
            "simulateUrl": reverse("sandbox-pay", args=["ORDER"]),
            "agreementsUrl": reverse("payments:agreements"),
            "agreementUrl": reverse("payments:agreement", args=["AGREEMENT"]),
            "cancelAgreementUrl": reverse("payments:agreement-cancel", args=["AGREEMENT"]),
            "pollMilliseconds": 2000,
        },
        "page_text": PAGE_TEXT,
    }
    return render(request, "payments/vip.html", context)


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
