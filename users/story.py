"""The users app's chapter of an order's story (`payments.story`): the VIP changes the order
made and the emails about it, each linked to its record."""

from django.urls import reverse

from payments.story import Step
from vipplatform.times import to_minute

from . import selectors


def order_chapter(sender, *, order, **kwargs) -> list[Step]:
    """`payments.signals.order_story_told`."""
    steps = []
    for entry in selectors.ledger_for_order(order_id=order.pk):
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
                reverse("admin:users_vipledgerentry_change", args=[entry.pk]),
            )
        )
    for email in selectors.emails_about(user_id=order.user_id, reference=order.order_number):
        steps.append(
            Step(
                email.sent_at,
                f"邮件：{email.get_kind_display()}",
                email.to,
                reverse("admin:users_memberemail_change", args=[email.pk]),
            )
        )
    return steps
