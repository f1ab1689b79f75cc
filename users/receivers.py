"""Receivers of other apps' signals. They only call the service layer."""

from fractions import Fraction

from django.utils import timezone

from .models import User
from .notices import receipt_send_after_commit, refund_notice_send_after_commit
from .services import expiry_after_take_back, vip_extend, vip_take_back


def grant_vip_for_paid_order(sender, *, order, **kwargs) -> None:
    """`payments.signals.payment_succeeded`: extend the buyer's VIP by the days bought, and
    email the receipt once the payment commits."""
    entry = vip_extend(
        user_id=order.user_id,
        days=order.days_bought,
        order_id=order.pk,
        actor=None,
        reason=f"购买{order.plan_label}（订单 {order.order_number}）",
    )
    receipt_send_after_commit(
        user_id=order.user_id,
        order_number=order.order_number,
        plan_name=order.plan_label,
        amount=order.amount,
        expire_time=entry.expire_after,
    )


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
