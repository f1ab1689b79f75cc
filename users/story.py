"""The users app's chapter of an order's story (`payments.story`): the VIP changes the order
made and the emails about it, each linked to its record."""

from django.urls import reverse

from payments.story import Step
from vipplatform.times import to_minute

from . import selectors


def order_chapter(sender, *, order, **kwargs) -> list[Step]:
    """`payments.signals.order_story_told`."""
    steps = []
    entries = selectors.ledger_for_order(order_id=order.pk)
    for entry in entries:
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
    references = [order.order_number] + [e.refund.refund_number for e in entries if e.refund]
    for email in selectors.emails_about(user_id=order.user_id, references=references):
        steps.append(
            Step(
                email.sent_at,
                f"邮件：{email.get_kind_display()}",
                email.to,
                reverse("admin:users_memberemail_change", args=[email.pk]),
            )
        )
    return steps
