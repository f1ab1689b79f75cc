"""Receivers of other apps' signals. They only call the service layer."""

from .notices import receipt_send_after_commit
from .services import vip_extend


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
