from django.dispatch import Signal

# Sent by `payments.services.order_mark_paid` inside the transaction that marks an order paid,
# once per order. Arguments: `order` (the locked `VipOrder`, with the plan's name and days as
# bought).
payment_succeeded = Signal()
