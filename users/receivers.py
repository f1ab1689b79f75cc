"""Receivers of other apps' signals. They only call the service layer."""

from fractions import Fraction

from django.utils import timezone

from .models import User
from .notices import (
    agreement_notice_send_after_commit,
    receipt_send_after_commit,
    refund_notice_send_after_commit,
)
from .services import expiry_after_take_back, vip_extend, vip_take_back


def grant_vip_for_paid_order(sender, *, order, renewal=None, **kwargs) -> None:
    """`payments.signals.payment_succeeded`: extend the buyer's VIP by the days bought (a
    连续包月 period's, for a renewal), and email the receipt once the payment commits."""
    what = (
        f"自动续费{order.plan_label}第{renewal.periods_paid}期"
        if renewal is not None
        else f"购买{order.plan_label}"
    )
    entry = vip_extend(
        user_id=order.user_id,
        days=order.days_bought,
        order_id=order.pk,
        actor=None,
        reason=f"{what}（订单 {order.order_number}）",
    )
    receipt_send_after_commit(
        user_id=order.user_id,
        order_number=order.order_number,
        plan_name=order.plan_label,
        amount=order.amount,
        expire_time=entry.expire_after,
        renewal=renewal,
    )


def tell_member_of_agreement(sender, *, agreement, event, **info) -> None:
    """`payments.signals.agreement_changed`: the member's email of it, after commit."""
    agreement_notice_send_after_commit(agreement=agreement, event=event, **info)


def take_back_for_refund(sender, *, refund, order, **kwargs) -> None:
    """`payments.signals.refund_succeeded`: the membership follows the money (the refunded
    share of the order's days), and the member is told, once the refund commits."""
    entry = vip_take_back(
        user_id=order.user_id,
        order_id=order.pk,
        refund_id=refund.pk,
        refunded_share=Fraction(order.refunded_amount) / Fraction(order.amount),
        days=order.days_bought,
        reason=f"退款¥{refund.amount}（订单 {order.order_number}，退款单 {refund.refund_number}）",
    )
    refund_notice_send_after_commit(
        user_id=order.user_id,
        refund_number=refund.refund_number,
        order_number=order.order_number,
        plan_name=order.plan_label,
        amount=refund.amount,
        expire_time=entry.expire_after,
        member=entry.user.vip_active(),
    )


def preview_take_back(sender, *, order, amount, **kwargs):
    """`payments.signals.refund_previewed`: the member's expiry now, and after the refund."""
    user = User.objects.get(pk=order.user_id)
    after = expiry_after_take_back(
        user,
        order_id=order.pk,
        refunded_share=Fraction(order.refunded_amount + amount) / Fraction(order.amount),
        days=order.days_bought,
        now=timezone.now(),
    )
    return user.vip_expire_time, after
