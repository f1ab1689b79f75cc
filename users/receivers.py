"""Receivers of other apps' signals. They only call the service layer."""

from .services import vip_extend


def grant_vip_for_paid_order(sender, *, order, **kwargs) -> None:
    """`payments.signals.payment_succeeded`: extend the buyer's VIP by the days bought."""
    vip_extend(
        user_id=order.user_id,
        days=order.plan_days,
        order_id=order.pk,
        actor=None,
        reason=f"购买{order.plan_name}（订单 {order.order_number}）",
    )
