from django.dispatch import Signal

# Sent by `payments.services.order_mark_paid` inside the transaction that marks an order paid,
# once per order. Arguments: `order` (the locked `VipOrder`, with its plan loaded).
payment_succeeded = Signal()
