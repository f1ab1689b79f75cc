"""The payments app's background work (Celery tasks). Each calls services and is safe to run
twice (the order row's lock and the ledger's unique order column decide); `settings.PERIODIC_JOBS`
schedules the periodic ones."""

import logging

from celery import shared_task
from django.conf import settings

from . import bills, notifications, refunds, renewals, selectors, services, totals
from .exceptions import GatewayUnavailable

logger = logging.getLogger(__name__)


@shared_task
def expire_orders() -> int:
    return services.order_expire_overdue()


@shared_task
def refresh_order_totals() -> int:
    return totals.totals_refresh()


@shared_task
def recount_order_totals() -> int:
    return totals.totals_refresh(everything=True)


@shared_task
def reconcile_bills() -> dict:
    return bills.bills_reconcile()


@shared_task
def complete_refunds() -> int:
    return refunds.refunds_complete()


@shared_task
def prune_notifications() -> int:
    return notifications.notifications_prune()


@shared_task
def reconcile_payments() -> int:
    """Hand each order whose notification may have been lost to its own task, so one slow
    answer from the gateway holds up no other order. Answers how many were handed out."""
    order_ids = list(selectors.orders_to_reconcile().values_list("pk", flat=True))
    for order_id in order_ids:
        reconcile_order.delay(order_id)
    return len(order_ids)


# A call to a payment provider: 30 s at most, tried again 30 s, 60 s, 120 s ... later (at most
# 10 minutes apart) while the provider does not answer.
ASKS_THE_PROVIDER = {
    "autoretry_for": (GatewayUnavailable,),
    "retry_backoff": 30,
    "retry_backoff_max": 600,
    "soft_time_limit": 30,
    "time_limit": 45,
}


@shared_task(**ASKS_THE_PROVIDER, max_retries=4, label="对账：查询一个订单")
def reconcile_order(order_id: int) -> str | None:
    outcome = services.order_reconcile(order_id=order_id)
    return None if outcome is None else str(outcome)


@shared_task(**ASKS_THE_PROVIDER, max_retries=6, label="在支付网关关闭一个订单")
def close_order_at_provider(order_id: int) -> bool:
    return services.order_close_at_provider(order_id=order_id)


@shared_task(bind=True, max_retries=None, label="重试一个订单的VIP开通")
def retry_vip_grant(self, order_id: int) -> bool:
    """Try a failed grant again, then again later, further apart each time, until it is done
    or VIP_GRANT_RETRY_ATTEMPTS have been made; the hourly sweep (`retry_vip_grants`) goes on
    after that. Never grants twice: `order_retry_grant` locks the order and acts only on a
    recorded failure."""
    if services.order_retry_grant(order_id=order_id):
        return True
    attempt = self.request.retries + 1
    if attempt >= settings.VIP_GRANT_RETRY_ATTEMPTS:
        logger.error("vip grant still failing after %s tries order id=%s", attempt, order_id)
        return False
    delay = services.grant_retry_delay(attempt)
    logger.warning(
        "vip grant still failing order id=%s: try %s failed, next in %ss", order_id, attempt, delay
    )
    raise self.retry(countdown=delay)


@shared_task
def retry_vip_grants() -> tuple[int, int]:
    return services.order_retry_failed_grants()


@shared_task
def run_renewals() -> dict:
    return renewals.renewals_run()


@shared_task(soft_time_limit=30, time_limit=45, label="自动续费：扣一个协议的本期费用")
def charge_agreement(agreement_id: int) -> str | None:
    """Never retried as a whole: a try whose answer was lost is settled by its order's payment
    query; the renewal job hands the agreement out again on a later day if it failed."""
    charge = renewals.agreement_charge(agreement_id=agreement_id)
    return None if charge is None else charge.get_state_display()


@shared_task(**ASKS_THE_PROVIDER, max_retries=6, label="自动续费：在支付网关解约")
def unsign_agreement(agreement_id: int) -> bool:
    return renewals.agreement_unsign_at_provider(agreement_id=agreement_id)
