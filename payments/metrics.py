"""What payments count for Prometheus (`/metrics`, docs/operations.md#monitoring).

prometheus_client's metrics, which under gunicorn (PROMETHEUS_MULTIPROC_DIR set) each worker
writes to its own file and `/metrics` adds up. The business's gauges (active members, failing
grants, the jobs' last runs) are read from the database when scraped (`config.monitoring`).
"""

from prometheus_client import Counter, Histogram

ORDERS_CREATED = Counter(
    "vip_orders_created",
    "Orders created, by plan and payment method.",
    ["plan", "payment_method"],
)
PAYMENTS = Counter(
    "vip_payments",
    "Orders that became paid, by provider and by what told us (notification, reconciliation).",
    ["provider", "via"],
)
NOTIFICATIONS = Counter(
    "vip_notifications",
    "Providers' notifications by provider and outcome (paid, duplicate, failed, ignored, "
    "refused, error); `reason` says why one was refused.",
    ["provider", "outcome", "reason"],
)
REFUNDS = Counter(
    "vip_refunds",
    "Refunds settled, by provider and outcome (succeeded, failed, closed), and by who started "
    "them (platform: staff here; provider: found at the provider, its console).",
    ["provider", "outcome", "origin"],
)
BILL_LINES = Counter(
    "vip_bill_lines",
    "Lines of the providers' daily bills reconciled, by kind.",
    ["provider", "kind"],
)
BILL_DIFFERENCES = Counter(
    "vip_bill_differences",
    "Differences the daily reconciliation found, by kind (each once, however often it runs).",
    ["provider", "kind"],
)
RENEWAL_CHARGES = Counter(
    "vip_renewal_charges",
    "Tries to charge a 连续包月 agreement's period, settled, by provider and outcome (paid, "
    "failed).",
    ["provider", "outcome"],
)
AGREEMENTS = Counter(
    "vip_agreements",
    "连续包月 agreements' events by provider: signed, cancelled (by the member here, staff, "
    "or in the provider's app), suspended (the period's last charge failed).",
    ["provider", "event"],
)
GRANT_FAILURES = Counter("vip_grant_failures", "VIP grants that failed after their order was paid.")
GRANT_RETRIES = Counter("vip_grant_retries", "Retries of failed VIP grants, by result.", ["result"])
NOTIFICATION_TO_GRANT = Histogram(
    "vip_notification_to_grant_seconds",
    "From a paying notification's arrival to its order paid and its VIP granted (committed).",
    ["provider"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RECONCILIATIONS = Counter(
    "vip_reconciliations",
    "Orders asked about at their provider, by result (paid, failed, nothing, unavailable).",
    ["provider", "result"],
)
CLOSES = Counter(
    "vip_provider_closes",
    "Unpaid orders closed at their provider, by result (closed, paid meanwhile).",
    ["provider", "result"],
)

# Why a notification was refused, from the exception that refused it.
REFUSAL_REASONS = {
    "InvalidSignature": "signature",
    "NotificationTooLarge": "too_large",
    "NotificationInvalid": "content",
    "AmountMismatch": "amount",
    "OrderNotFound": "unknown_order",
    "WrongProvider": "wrong_provider",
    "AgreementNotFound": "unknown_agreement",
    "ValidationError": "malformed",
    "ParseError": "malformed",
}


def refusal_reason(exc: Exception) -> str:
    return REFUSAL_REASONS.get(type(exc).__name__, "other")
