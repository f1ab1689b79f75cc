"""An order's story, for its admin page: every step it went through, in time order (created,
its QR code, each notification, each call to its provider, paid, the VIP grant's failures, and
what other apps keep of it: the ledger, the emails), each linked to its own record."""

from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse

from .gateways import display_name
from .models import (
    PaymentMethod,
    PaymentNotification,
    ProviderCall,
    RefundState,
    RenewalCharge,
    VipOrder,
)
from .signals import order_story_told


@dataclass(frozen=True)
class Step:
    at: datetime | None
    title: str
    detail: str = ""
    url: str = ""
    problem: bool = False


def _admin(model: str, pk) -> str:
    return reverse(f"admin:{model}_change", args=[pk])


def order_story(order: VipOrder) -> list[Step]:
    method = PaymentMethod(order.payment_method).label if order.payment_method is not None else ""
    steps = [
        Step(
            order.create_time,
            "创建订单",
            f"{order.plan_label} · {order.days_bought}天 · ¥{order.amount} · {method}".rstrip(" ·"),
        )
    ]
    charge = RenewalCharge.objects.filter(order=order).select_related("agreement").first()
    if charge is not None:  # a 连续包月 period's try: no QR code, the provider charged
        steps.append(
            Step(
                charge.created_at,
                f"自动续费扣款：第{charge.period}期第{charge.attempt}次尝试",
                " · ".join(
                    filter(None, [charge.agreement.agreement_number, charge.get_state_display(),
                                  charge.error])
                ),
                _admin("payments_agreement", charge.agreement_id),
                problem=charge.state == RenewalCharge.State.FAILED,
            )
        )  # fmt: skip
    if order.payment_code or order.qr_code_url:
        steps.append(
            Step(order.create_time, "生成支付二维码", order.payment_code or order.qr_code_url)
        )
    for note in PaymentNotification.objects.filter(order_number=order.order_number).order_by(
        "received_at", "id"
    ):
        channel = display_name(note.provider) if note.provider else ""
        steps.append(
            Step(
                note.received_at,
                f"支付通知：{note.get_outcome_display()}",
                " · ".join(filter(None, [channel, note.remote_addr, note.detail])),
                _admin("payments_paymentnotification", note.pk),
                problem=note.outcome in {"refused", "error"},
            )
        )
    for call in ProviderCall.objects.filter(order_number=order.order_number).order_by("id"):
        steps.append(
            Step(
                call.called_at,
                f"{display_name(call.provider)}：{call.get_kind_display()}",
                " · ".join(
                    filter(None, [call.get_outcome_display(), call.code, f"{call.duration_ms} ms"])
                ),
                problem=call.outcome != ProviderCall.Outcome.OK,
            )
        )
    if order.pay_time:
        steps.append(Step(order.pay_time, "已支付", f"网关交易号 {order.transaction_id or '-'}"))
    for refund in order.refunds.order_by("id"):
        steps.append(
            Step(
                refund.created_at,
                f"退款¥{refund.amount}：{refund.get_state_display()}",
                " · ".join(
                    filter(
                        None,
                        [
                            refund.refund_number,
                            refund.reason,
                            "在支付平台发起"
                            if refund.at_provider
                            else str(refund.requested_by or ""),
                            refund.detail,
                        ],
                    )
                ),
                _admin("payments_refund", refund.pk),
                problem=refund.state in {RefundState.FAILED, RefundState.CLOSED},
            )
        )
    if order.grant_failed_at:
        steps.append(
            Step(
                order.grant_failed_at, "VIP开通失败（自动重试中）", order.grant_error, problem=True
            )
        )
    # What other apps keep of this order (the VIP ledger, the emails): they answer the signal.
    for _receiver, more in order_story_told.send(sender=VipOrder, order=order):
        steps.extend(more)
    # Steps without a time (some of the site's old orders) stay first, in the order above.
    return sorted(steps, key=lambda step: (step.at is not None, step.at or 0))
