"""Receivers of other apps' signals. They only call the service layer."""

from .services import vip_extend


def grant_vip_for_paid_order(sender, *, order, **kwargs) -> None:
    """`payments.signals.payment_succeeded`: extend the buyer's VIP by the plan's days."""
    vip_extend(
        user_id=order.user_id,
        days=order.plan.days,
        order_id=order.pk,
        actor=None,
        reason=f"购买{order.plan.name}（订单 {order.order_number}）",
    )
