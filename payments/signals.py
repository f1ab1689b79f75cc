from django.dispatch import Signal

# Sent by `payments.services.order_mark_paid` inside the transaction that marks an order paid,
# once per order. Arguments: `order` (the locked `VipOrder`, with the plan's name and days as
# bought), `renewal` (the `Agreement` whose period it paid, or None: a purchase).
payment_succeeded = Signal()

# Sent by `payments.refunds` inside the transaction that records a refund's success, once per
# refund. Arguments: `refund` (the `Refund`), `order` (the locked `VipOrder`).
refund_succeeded = Signal()

# Sent by the admin's refund form, to show what a refund of `amount` would leave of the
# member's membership. Arguments: `order`, `amount`. Receivers answer (expiry now, expiry after).
refund_previewed = Signal()

# Sent by `payments.story.order_story` for an order's admin page: each receiver answers the
# steps of that order its app keeps (`payments.story.Step`s: the VIP ledger, the emails).
# Arguments: `order` (the `VipOrder`).
order_story_told = Signal()

# Sent by `payments.renewals` / `payments.charges` inside the transaction that changes a
# 连续包月 agreement, for the member to be told. Arguments: `agreement` (the `Agreement`),
# `event` ("signed", "reminder", "failed", "suspended", "cancelled"), and for "reminder" and
# "failed" `charge_date` (the day of the next charge), for "failed" `reason`.
agreement_changed = Signal()
