"""An order's story, for its admin page: every step it went through, in time order (created,
its QR code, each notification, paid, the VIP grant and its failures, the ledger, the emails),
each linked to its own record."""

from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse

from users import selectors as users
from vipplatform.times import to_minute

from .gateways import display_name
from .models import PaymentMethod, PaymentNotification, ProviderCall, VipOrder


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
    if order.grant_failed_at:
        steps.append(
            Step(
                order.grant_failed_at, "VIP开通失败（自动重试中）", order.grant_error, problem=True
            )
        )
    for entry in users.ledger_for_order(order_id=order.pk):
        steps.append(
            Step(
                entry.created_at,
                f"VIP变更：{entry.get_kind_display()}",
                " · ".join(
                    filter(
                        None,
                        [
                            f"{to_minute(entry.expire_before)} → {to_minute(entry.expire_after)}",
                            entry.reason,
                            str(entry.actor or ""),
                        ],
                    )
                ),
                _admin("users_vipledgerentry", entry.pk),
            )
        )
    for email in users.emails_about(user_id=order.user_id, reference=order.order_number):
        steps.append(
            Step(
                email.sent_at,
                f"邮件：{email.get_kind_display()}",
                email.to,
                _admin("users_memberemail", email.pk),
            )
        )
    # Steps without a time (some of the site's old orders) stay first, in the order above.
    return sorted(steps, key=lambda step: (step.at is not None, step.at or 0))
