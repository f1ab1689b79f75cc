from django.dispatch import Signal

# Sent by `payments.services.order_mark_paid` inside the transaction that marks an order paid,
# once per order. Arguments: `order` (the locked `VipOrder`, with the plan's name and days as
# bought).
payment_succeeded = Signal()

# Sent by `payments.story.order_story` for an order's admin page: each receiver answers the
# steps of that order its app keeps (`payments.story.Step`s: the VIP ledger, the emails).
# Arguments: `order` (the `VipOrder`).
order_story_told = Signal()
