"""连续包月: agreements signed with a provider, and each period charged through them.

An agreement's life:

- **signing**: the member picks a renewing plan and a method on `/vip/` (the terms written
  there), scans the QR code of the provider's signing page; the provider's signing
  notification makes it active, and its first period is charged at once;
- **each period**: the member's reminder at least five days before the renewal (the law,
  网络交易监督管理办法 Art. 18; `RENEWAL_REMINDER_DAYS` ahead by default), and where the
  provider asks for one its pre-debit notice (WeChat Pay: 07:00–22:00, the charge allowed
  from two days later); then on its day the charge, an order of its own paid through
  `order_mark_paid` as any order (the signal, the users service, the ledger, the receipt);
- **a failed charge** is tried again on the next days, `RENEWAL_CHARGE_ATTEMPTS` tries in
  all; after the last the agreement is suspended (and unsigned), and the membership runs out;
- **cancelling**, at any time (the page, the API, staff, the provider's app), ends it at once:
  nothing is charged after, and the days paid for run to their end.

A period is charged once: a charge starts only under the agreement's row lock, when no try of
that period is in flight or paid, and each try's row is unique per (agreement, period, try),
so two jobs (two hosts) racing for it cannot both charge. Cancelling takes the same lock.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone

from vipplatform.background import later

from . import metrics, services
from .calls import provider_call
from .charges import UNSIGN_TASK, charge_settled, china_day, unsign_later
from .exceptions import (
    AgreementEnded,
    AgreementExists,
    AgreementNotFound,
    GatewayUnavailable,
    MemberWithoutEnd,
    PaymentMethodUnavailable,
    PlanUnavailable,
    WrongProvider,
)
from .gateways import (
    AgreementReport,
    Provider,
    agreement_provider_for,
    configured_providers,
    provider_named,
)
from .gateways.base import CHINA_TIME
from .models import (
    Agreement,
    AgreementState,
    CancelledBy,
    NotificationOutcome,
    OrderStatus,
    ProviderCall,
    RenewalCharge,
    VipOrder,
    VipPlan,
)
from .signals import agreement_changed

logger = logging.getLogger(__name__)

# The law's minimum between the member's reminder and the charge; not a setting.
LAW_REMINDER = timedelta(days=5)
# WeChat Pay: a first charge within 12 hours of the signing needs no pre-debit notice.
FIRST_CHARGE_WITHOUT_NOTICE = timedelta(hours=12)
CHARGE_TASK = "payments.tasks.charge_agreement"


def within_charge_hours(now: datetime) -> bool:
    start, end = settings.RENEWAL_CHARGE_HOURS
    return start <= now.astimezone(CHINA_TIME).hour < end


# --- signing -------------------------------------------------------------------------------


def agreement_sign(*, user, plan_id: int, payment_method: int) -> Agreement:
    """Open the signing of a renewing plan for `user` with the provider serving
    `payment_method`: the agreement, waiting for the member to sign (its `sign_code` is what
    their QR code encodes). The same plan and method asked again while its QR code is valid
    answer the same agreement. A member with an active agreement cancels it first
    (`AgreementExists`)."""
    if getattr(user, "vip_without_end", False):
        raise MemberWithoutEnd()
    plan = VipPlan.objects.renewing().filter(pk=plan_id).first()
    if plan is None:
        raise PlanUnavailable()
    provider = agreement_provider_for(payment_method)
    if provider is None:
        raise PaymentMethodUnavailable()
    now = timezone.now()
    pending = _signable(user, plan, payment_method, now)
    if pending is not None:
        return pending
    agreement = Agreement(
        user_id=user.pk,
        plan=plan,
        payment_method=payment_method,
        provider=provider.name,
        plan_name=plan.name,
        period_days=plan.days,
        price=plan.price,
        first_price=plan.price_of_period(1),
        create_time=now,
        sign_deadline=now + settings.RENEWAL_SIGN_DEADLINE,
    )
    # The provider is asked outside any transaction (its call is recorded whatever happens).
    with provider_call(provider, ProviderCall.Kind.SIGN, agreement.agreement_number):
        agreement.sign_code = provider.sign_agreement(agreement)
    with transaction.atomic():  # the member's lock held from the check to the insert
        pending = _signable(user, plan, payment_method, now)  # a second click meanwhile
        if pending is not None:
            return pending
        agreement.save()
    logger.info(
        "agreement=%s user=%s signing plan=%s provider=%s",
        agreement.agreement_number, user.pk, plan.pk, provider.name,
    )  # fmt: skip
    return agreement


@transaction.atomic
def _signable(user, plan: VipPlan, payment_method: int, now: datetime) -> Agreement | None:
    """Under the member's row lock: `AgreementExists` if they have an active agreement; the
    signing of the same plan and method still open, if any."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk").first()
    mine = Agreement.objects.filter(user_id=user.pk)
    if mine.filter(state=AgreementState.ACTIVE).exists():
        raise AgreementExists()
    return mine.filter(
        state=AgreementState.SIGNING,
        plan=plan,
        payment_method=payment_method,
        sign_deadline__gt=now + timedelta(minutes=1),
    ).first()


def _lock(agreement_number: str) -> Agreement:
    try:
        return Agreement.objects.select_for_update().get(agreement_number=agreement_number)
    except Agreement.DoesNotExist:
        raise AgreementNotFound() from None


@transaction.atomic
def agreement_noticed(provider: Provider, report: AgreementReport) -> NotificationOutcome:
    """A provider's notification that an agreement was signed, or ended there (the member
    unsigned in its app): recorded once; a repeat is a duplicate."""
    agreement = _lock(report.agreement_number)
    if agreement.provider != provider.name:
        logger.warning(
            "SECURITY agreement notification from %s for agreement=%s of %s",
            provider.name, agreement.agreement_number, agreement.provider,
        )  # fmt: skip
        raise WrongProvider()
    now = timezone.now()
    if report.signed:
        if agreement.state in (AgreementState.ACTIVE, AgreementState.SUSPENDED) or (
            agreement.signed_at is not None
        ):
            return NotificationOutcome.DUPLICATE
        agreement.provider_agreement_id = report.provider_agreement_id[:64]
        agreement.signed_at = now
        agreement.sign_code = ""
        if agreement.state == AgreementState.CANCELLED:
            # Cancelled on the page before the member finished signing: ended there too.
            agreement.save(update_fields=["provider_agreement_id", "signed_at", "sign_code"])
            unsign_later(agreement)
            return NotificationOutcome.AGREEMENT
        # Signed, also after its QR code's deadline (LAPSED): the member did sign.
        agreement.state = AgreementState.ACTIVE
        agreement.next_charge_date = china_day(now)
        agreement.save()
        metrics.AGREEMENTS.labels(provider=provider.name, event="signed").inc()
        logger.info(
            "agreement=%s user=%s signed at %s as %s",
            agreement.agreement_number, agreement.user_id, provider.name,
            agreement.provider_agreement_id,
        )  # fmt: skip
        agreement_changed.send(sender=Agreement, agreement=agreement, event="signed")
        later(CHARGE_TASK, agreement.pk)  # the first period, at once
        return NotificationOutcome.AGREEMENT
    # Ended at the provider.
    agreement.unsigned_at_provider = True
    if agreement.state in (AgreementState.CANCELLED, AgreementState.SUSPENDED):
        agreement.save(update_fields=["unsigned_at_provider"])
        return NotificationOutcome.DUPLICATE
    _end(
        agreement,
        CancelledBy.APP if report.by_member else CancelledBy.PROVIDER,
        now,
    )
    return NotificationOutcome.AGREEMENT


def _end(agreement: Agreement, by: str, now: datetime) -> None:
    """Cancel the locked `agreement` (it was signing or active)."""
    agreement.state = AgreementState.CANCELLED
    agreement.cancelled_by = by
    agreement.ended_at = now
    agreement.next_charge_date = None
    agreement.sign_code = ""
    agreement.save()
    metrics.AGREEMENTS.labels(provider=agreement.provider, event="cancelled").inc()
    logger.info(
        "agreement=%s user=%s cancelled (%s)", agreement.agreement_number, agreement.user_id, by
    )
    agreement_changed.send(sender=Agreement, agreement=agreement, event="cancelled")


@transaction.atomic
def agreement_cancel(*, agreement_number: str, by: str = CancelledBy.MEMBER) -> Agreement:
    """End an agreement at once (the member on the page or the API, or staff): nothing is
    charged after; the membership already paid for runs to its end. It is unsigned at the
    provider after commit (the job tries again while the provider does not answer)."""
    agreement = _lock(agreement_number)
    if agreement.state not in (AgreementState.SIGNING, AgreementState.ACTIVE):
        raise AgreementEnded()
    _end(agreement, by, timezone.now())
    unsign_later(agreement)
    return agreement


def agreement_unsign_at_provider(*, agreement_id: int) -> bool:
    """Unsign an ended agreement at its provider; answers whether it is unsigned there now.
    `GatewayUnavailable` when the provider does not answer (the task retries)."""
    agreement = Agreement.objects.get(pk=agreement_id)
    if agreement.unsigned_at_provider or not agreement.provider_agreement_id:
        return agreement.unsigned_at_provider
    if agreement.state in (AgreementState.ACTIVE, AgreementState.SIGNING):
        return False  # signed again meanwhile? never unsign a live agreement
    provider = provider_named(agreement.provider)
    if provider is None:
        return False
    with provider_call(provider, ProviderCall.Kind.UNSIGN, agreement.agreement_number):
        provider.unsign(agreement)
    Agreement.objects.filter(pk=agreement.pk).update(unsigned_at_provider=True)
    return True


# --- each period ---------------------------------------------------------------------------


def renewals_run(*, now: datetime | None = None, inline: bool = False) -> dict[str, int]:
    """The renewal job (every 15 minutes): signings past their deadline lapse; the reminders
    and pre-debit notices that are due go out; each agreement due is handed to its own charge
    task (`inline`: charged here, one after the other: the command); ended agreements not yet
    unsigned at their provider are tried again. Answers counts."""
    now = now or timezone.now()
    counts = {
        "lapsed": Agreement.objects.filter(
            state=AgreementState.SIGNING, sign_deadline__lt=now
        ).update(state=AgreementState.LAPSED),
        "stale": _stale_charges_failed(now),
        "reminded": renewal_reminders_send(now=now),
        "noticed": pre_debit_notices_send(now=now),
        "charging": 0,
        "unsigning": 0,
    }
    if within_charge_hours(now):
        for agreement_id in list(agreements_due(now=now).values_list("pk", flat=True)):
            if inline:
                agreement_charge(agreement_id=agreement_id, now=now)
            else:
                later(CHARGE_TASK, agreement_id)
            counts["charging"] += 1
    for agreement_id in (
        Agreement.objects.filter(
            state__in=[AgreementState.CANCELLED, AgreementState.SUSPENDED],
            unsigned_at_provider=False,
        )
        .exclude(provider_agreement_id="")
        .values_list("pk", flat=True)[:100]
    ):
        later(UNSIGN_TASK, agreement_id)
        counts["unsigning"] += 1
    if any(counts.values()):
        logger.info("renewals: %s", counts)
    return counts


def agreements_due(*, now: datetime):
    """Active agreements whose next charge day has come (China time), but those with a try in
    flight (its result not come yet): each is handed to a charge task, which checks the rest."""
    in_flight = RenewalCharge.objects.filter(
        agreement=OuterRef("pk"), state=RenewalCharge.State.CHARGING
    )
    return (
        Agreement.objects.filter(state=AgreementState.ACTIVE, next_charge_date__lte=china_day(now))
        .exclude(Exists(in_flight))
        .order_by("next_charge_date", "pk")
    )


def agreements_overdue(*, now: datetime) -> int:
    """Active agreements whose charge day passed more than a day ago with no try since: the
    renewal job is not running (the RenewalDayNotRun alert)."""
    day = china_day(now) - timedelta(days=1)
    return (
        Agreement.objects.filter(state=AgreementState.ACTIVE, next_charge_date__lt=day)
        .exclude(charges__created_at__gte=now - timedelta(days=1))
        .count()
    )


def agreements_active() -> dict[str, int]:
    """Agreements in force, by provider (one query)."""
    rows = (
        Agreement.objects.filter(state=AgreementState.ACTIVE)
        .values_list("provider")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return dict(rows)


def renewal_reminders_send(*, now: datetime) -> int:
    """Remind each member whose renewal is within `RENEWAL_REMINDER_DAYS` (the law: at least
    five days before it), once per period: recorded on the agreement (the page shows it) and
    emailed. A reminder that goes late moves the charge: never sooner than five days after it.
    Answers how many were sent."""
    ahead = china_day(now) + timedelta(days=settings.RENEWAL_REMINDER_DAYS)
    due = (
        Agreement.objects.filter(
            state=AgreementState.ACTIVE, periods_paid__gte=1, next_charge_date__lte=ahead
        )
        .exclude(reminded_period=F("periods_paid") + 1)
        .values_list("agreement_number", flat=True)
    )
    sent = 0
    for number in list(due):
        with transaction.atomic():
            agreement = _lock(number)
            if agreement.state != AgreementState.ACTIVE or agreement.reminded:
                continue
            agreement.reminded_period = agreement.next_period
            agreement.reminded_at = now
            agreement.next_charge_date = max(
                agreement.next_charge_date, china_day(now + LAW_REMINDER)
            )
            agreement.save(update_fields=["reminded_period", "reminded_at", "next_charge_date"])
            agreement_changed.send(
                sender=Agreement,
                agreement=agreement,
                event="reminder",
                charge_date=agreement.next_charge_date,
            )
            sent += 1
    return sent


def _needs_notice(agreement: Agreement, provider: Provider, now: datetime) -> bool:
    if not provider.notices_before_charge:
        return False
    if agreement.next_period == 1 and now - agreement.signed_at < FIRST_CHARGE_WITHOUT_NOTICE:
        return False
    if agreement.noticed_period != agreement.next_period or agreement.noticed_at is None:
        return True
    _, last = provider.pre_debit_window(china_day(agreement.noticed_at))
    return agreement.next_charge_date > last  # the charge moved past the notice's window


def pre_debit_notices_send(*, now: datetime) -> int:
    """Send the provider's pre-debit notice (WeChat Pay's 预扣费通知) of each charge within
    the reminder's reach that needs one, in the hours the provider allows; the charge waits
    for the notice's window. Answers how many were sent."""
    if not within_charge_hours(now):
        return 0
    ahead = china_day(now) + timedelta(days=settings.RENEWAL_REMINDER_DAYS)
    sent = 0
    noticing = [p.name for p in configured_providers() if p.notices_before_charge]
    # Not noticed for the coming period, or noticed so long ago its window may have passed
    # (`_needs_notice` decides): the rows already covered are not read every run.
    candidates = Agreement.objects.filter(
        state=AgreementState.ACTIVE, provider__in=noticing, next_charge_date__lte=ahead
    ).filter(
        Q(noticed_period__lt=F("periods_paid") + 1)
        | Q(noticed_at__lt=now - timedelta(days=settings.WECHATPAY_PRE_DEBIT_DAYS))
    )
    for agreement in candidates:
        provider = provider_named(agreement.provider)
        if provider is None or not _needs_notice(agreement, provider, now):
            continue
        try:
            with provider_call(provider, ProviderCall.Kind.PRE_DEBIT, agreement.agreement_number):
                provider.notify_before_charge(agreement, agreement.next_amount)
        except GatewayUnavailable as exc:
            logger.warning(
                "agreement=%s pre-debit notice not sent: %s (the next run tries again)",
                agreement.agreement_number, exc.message,
            )  # fmt: skip
            continue
        first, _ = provider.pre_debit_window(china_day(now))
        Agreement.objects.filter(pk=agreement.pk, state=AgreementState.ACTIVE).update(
            noticed_period=agreement.next_period,
            noticed_at=now,
            next_charge_date=max(agreement.next_charge_date, first),
        )
        sent += 1
    return sent


def _why_not(agreement: Agreement, provider: Provider | None, now: datetime) -> str:
    """Why the locked `agreement` may not be charged now ("" when it may)."""
    if provider is None or not provider.agreements:
        return "its provider is not configured"
    if agreement.state != AgreementState.ACTIVE:
        return "not active"
    if agreement.next_charge_date is None or agreement.next_charge_date > china_day(now):
        return "not due"
    if not within_charge_hours(now):
        return "outside the charge hours"
    period = agreement.next_period
    if period > 1 and (
        agreement.reminded_period != period or agreement.reminded_at > now - LAW_REMINDER
    ):
        return "the member was not reminded five days before"
    if _needs_notice(agreement, provider, now):
        return "no pre-debit notice"
    if provider.notices_before_charge and agreement.noticed_period == period:
        first, last = provider.pre_debit_window(china_day(agreement.noticed_at))
        if not first <= china_day(now) <= last:
            return "outside the pre-debit notice's window"
    in_flight = RenewalCharge.objects.filter(
        agreement=agreement,
        period=period,
        state__in=[RenewalCharge.State.CHARGING, RenewalCharge.State.PAID],
    )
    if in_flight.exists():
        return "a charge of the period is in flight or paid"
    return ""


def agreement_charge(*, agreement_id: int, now: datetime | None = None) -> RenewalCharge | None:
    """Charge an agreement's next period if it may be charged now; answers the try, or None.

    Under the agreement's lock: the rules (`_why_not`), then the try's order and row. Then,
    outside any transaction, the provider: a result it answers at once settles the order
    through `order_mark_paid` / `order_mark_failed`; otherwise its notification does, or the
    order's payment query (reconciliation) when the notification is lost."""
    now = now or timezone.now()
    with transaction.atomic():
        agreement = Agreement.objects.select_for_update().get(pk=agreement_id)
        provider = provider_named(agreement.provider)
        why = _why_not(agreement, provider, now)
        if why:
            logger.info("agreement=%s not charged: %s", agreement.agreement_number, why)
            return None
        order = VipOrder.objects.create(
            user_id=agreement.user_id,
            plan_id=agreement.plan_id,
            plan_name=agreement.plan_name,
            plan_days=agreement.period_days,
            amount=agreement.next_amount,
            payment_method=agreement.payment_method,
            create_time=now,
            expire_time=now + settings.RENEWAL_CHARGE_DEADLINE,
        )
        charge = RenewalCharge.objects.create(
            agreement=agreement,
            period=agreement.next_period,
            attempt=agreement.failures + 1,
            order=order,
            created_at=now,
        )
    try:
        with provider_call(provider, ProviderCall.Kind.CHARGE, order.order_number) as call:
            report = provider.charge(agreement, order)
            call.code = (report.failure or str(report.result)) if report else "已受理"
    except GatewayUnavailable:
        logger.warning(
            "agreement=%s charge order=%s: no answer; its payment query will settle it",
            agreement.agreement_number, order.order_number,
        )  # fmt: skip
        return charge
    if report is not None:
        services.order_mark_result(
            report.result,
            order_number=order.order_number,
            amount=report.amount,
            transaction_id=report.transaction_id,
            failure=report.failure,
        )
    charge.refresh_from_db()
    return charge


def _stale_charges_failed(now: datetime) -> int:
    """Tries whose result never came within `RENEWAL_CHARGE_DEADLINE` (and which the payment
    queries of that day did not find paid): failed, so the period is tried again. Answers how
    many."""
    stale = RenewalCharge.objects.filter(
        state=RenewalCharge.State.CHARGING, order__expire_time__lt=now
    ).values_list("order_id", flat=True)
    failed = 0
    for order_id in list(stale[:100]):
        with transaction.atomic():
            order = services.lock_order(pk=order_id)
            if order.status == OrderStatus.PENDING:
                services.order_mark_failed(order_number=order.order_number, reason="扣款无结果")
            elif order.status != OrderStatus.PAID:
                charge_settled(order, paid=False, failure="扣款无结果")
            else:
                continue
            failed += 1
    return failed
