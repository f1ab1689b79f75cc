"""A 连续包月 charge's result, as its order's payment settles: called by `order_mark_paid` and
`order_mark_failed` under the order's row lock (so once per order), it moves the agreement on
to its next period, or counts the failure, retries the next day and, after the last try,
suspends it. Apart from `payments.renewals` (which starts charges through the services), so
the services can call it without an import circle.
"""

import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from vipplatform.background import later

from . import metrics
from .gateways.base import CHINA_TIME
from .models import Agreement, AgreementState, RenewalCharge, VipOrder
from .signals import agreement_changed

logger = logging.getLogger(__name__)

UNSIGN_TASK = "payments.tasks.unsign_agreement"


def china_day(moment: datetime) -> date:
    """The day (China time: the providers', and the members') of `moment`."""
    return moment.astimezone(CHINA_TIME).date()


def next_charge_day(charged: date, period_days: int) -> date:
    """The day of the charge after one made on `charged`: a day before the days it bought run
    out (a failure leaves a day to try again before the membership ends)."""
    return charged + timedelta(days=period_days - 1)


def agreement_of(order: VipOrder) -> Agreement | None:
    """The agreement whose period `order` charges; None for a purchase. One query."""
    return Agreement.objects.filter(charges__order=order).first()


def charge_settled(order: VipOrder, *, paid: bool, failure: str = "") -> Agreement | None:
    """Record the result of the charge `order` was made for (nothing for a purchase's order);
    answers its agreement. Locks the agreement after the order (the one order of the two
    locks anywhere)."""
    charge = RenewalCharge.objects.filter(order=order).first()
    if charge is None:
        return None
    agreement = Agreement.objects.select_for_update().get(pk=charge.agreement_id)
    now = timezone.now()
    charge.state = RenewalCharge.State.PAID if paid else RenewalCharge.State.FAILED
    charge.error = "" if paid else (failure or "扣款失败")[:100]
    charge.settled_at = now
    charge.save(update_fields=["state", "error", "settled_at"])
    metrics.RENEWAL_CHARGES.labels(
        provider=agreement.provider, outcome="paid" if paid else "failed"
    ).inc()
    if paid:
        _period_paid(agreement, charge, now)
    else:
        _try_failed(agreement, charge, now)
    return agreement


def _period_paid(agreement: Agreement, charge: RenewalCharge, now: datetime) -> None:
    if charge.period <= agreement.periods_paid:
        # A try whose result came after another try of its period was paid (the provider
        # was silent for a day): the member paid twice; the order is marked for staff.
        logger.error(
            "period %s of agreement=%s user=%s paid again by order=%s: refund it",
            charge.period, agreement.agreement_number, agreement.user_id, charge.order_id,
        )  # fmt: skip
        VipOrder.objects.filter(pk=charge.order_id).update(paid_after_close=True)
        return
    agreement.periods_paid = charge.period
    agreement.failures = 0
    # The next charge counted from the day this try was made (its result may come later: a
    # notification, the next day's payment query); none once the agreement ended (a charge in
    # flight when the member cancelled: its days are theirs).
    if agreement.state == AgreementState.ACTIVE:
        agreement.next_charge_date = next_charge_day(
            china_day(charge.created_at), agreement.period_days
        )
    agreement.save(update_fields=["periods_paid", "failures", "next_charge_date"])
    logger.info(
        "agreement=%s user=%s period %s paid, next charge %s",
        agreement.agreement_number, agreement.user_id, charge.period, agreement.next_charge_date,
    )  # fmt: skip


def _try_failed(agreement: Agreement, charge: RenewalCharge, now: datetime) -> None:
    current = (
        agreement.state == AgreementState.ACTIVE
        and charge.period == agreement.next_period
        and charge.attempt == agreement.failures + 1
    )
    if not current:
        return
    agreement.failures += 1
    if agreement.failures >= settings.RENEWAL_CHARGE_ATTEMPTS:
        agreement.state = AgreementState.SUSPENDED
        agreement.ended_at = now
        agreement.next_charge_date = None
        agreement.save(update_fields=["failures", "state", "ended_at", "next_charge_date"])
        metrics.AGREEMENTS.labels(provider=agreement.provider, event="suspended").inc()
        logger.warning(
            "agreement=%s user=%s suspended: period %s failed %s times (%s)",
            agreement.agreement_number, agreement.user_id, charge.period, agreement.failures,
            charge.error,
        )  # fmt: skip
        agreement_changed.send(
            sender=Agreement, agreement=agreement, event="suspended", reason=charge.error
        )
        unsign_later(agreement)
        return
    agreement.next_charge_date = china_day(charge.created_at) + timedelta(days=1)
    agreement.save(update_fields=["failures", "next_charge_date"])
    logger.warning(
        "agreement=%s user=%s period %s try %s failed (%s), next try %s",
        agreement.agreement_number, agreement.user_id, charge.period, charge.attempt,
        charge.error, agreement.next_charge_date,
    )  # fmt: skip
    agreement_changed.send(
        sender=Agreement,
        agreement=agreement,
        event="failed",
        reason=charge.error,
        charge_date=agreement.next_charge_date,
    )


def unsign_later(agreement: Agreement) -> None:
    """After commit, end the agreement at its provider too (an agreement never signed there
    has nothing to end)."""
    if agreement.provider_agreement_id and not agreement.unsigned_at_provider:
        later(UNSIGN_TASK, agreement.pk)
