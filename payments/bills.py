"""Daily reconciliation against the providers' bills: each morning the books prove themselves.

`bill_reconcile(provider, day)` downloads the provider's bill of `day`, stores its lines, and
matches them with the platform's payments and refunds by the merchant's order and refund
numbers. What the platform missed is completed through its own paths, once (a payment through
`services.order_mark_paid`, a refund through `refunds.refund_found`), and recorded as a
difference already closed; anything else that does not agree is an open difference for staff:
a payment or refund on one side only, an amount that differs. Re-running a day replaces its
lines, finds the same differences (staff's notes stay) and closes those that agree now.

A payment near midnight may be in the provider's bill of one day and paid here the next: a
line of the day before or after counts as found.
"""

import logging
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from vipplatform.exceptions import DomainError
from vipplatform.times import day_start

from . import metrics, refunds, services
from .calls import provider_call
from .exceptions import BillNotReady, GatewayUnavailable
from .gateways import BillEntry, RefundReport, configured_providers, provider_named
from .models import (
    BillDay,
    BillDifference,
    BillLine,
    OrderStatus,
    ProviderCall,
    Refund,
    RefundState,
    VipOrder,
)

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")
CHUNK = 2000  # order numbers per IN (...) query
Kind = BillDifference.Kind


def bill_providers() -> list:
    """The configured providers that keep a daily bill."""
    return [provider for provider in configured_providers() if provider.bills]


def bill_provider_names() -> list[str]:
    return [provider.name for provider in bill_providers()]


def bills_state() -> dict[str, tuple]:
    """For monitoring, per provider that keeps a bill: when the last day reconciled ended
    (None: none yet) and how many differences are open."""
    state = {}
    for provider in bill_providers():
        days = BillDay.objects.filter(provider=provider.name)
        last = days.filter(state=BillDay.State.RECONCILED).order_by("-day").first()
        through = day_start(last.day + timedelta(days=1)) if last else None
        state[provider.name] = (through, sum(days.values_list("open_differences", flat=True)))
    return state


def bills_reconcile(*, day: date | None = None) -> dict[str, str]:
    """Reconcile `day` (yesterday by default) with every provider that keeps a bill, unless
    done already; answers each provider's state. The job runs it every hour: a bill not yet
    made is asked for again the next time."""
    day = day or timezone.localdate() - timedelta(days=1)
    states = {}
    for provider in bill_providers():
        done = BillDay.objects.filter(
            provider=provider.name, day=day, state=BillDay.State.RECONCILED
        ).first()
        states[provider.name] = (done or bill_reconcile(provider=provider.name, day=day)).state
    return states


def bill_reconcile(*, provider: str, day: date) -> BillDay:
    """Download `provider`'s bill of `day`, store it, and match it (see the module)."""
    gateway = provider_named(provider)
    if gateway is None or not gateway.bills:
        raise DomainError(f"支付渠道 {provider} 未配置或没有对账单")
    record, _ = BillDay.objects.get_or_create(provider=provider, day=day)
    first_time = record.state != BillDay.State.RECONCILED
    record.attempts += 1
    try:
        with provider_call(gateway, ProviderCall.Kind.BILL, f"{day:%Y-%m-%d}"):
            entries = gateway.bill(day)
    except BillNotReady:
        record.state, record.detail = BillDay.State.WAITING, "账单尚未生成，稍后再取"
        record.save(update_fields=["attempts", "state", "detail"])
        return record
    except GatewayUnavailable as exc:
        record.state, record.detail = BillDay.State.FAILED, str(exc.message)[:255]
        record.save(update_fields=["attempts", "state", "detail"])
        logger.warning("bill of %s %s not reconciled: %s", provider, day, exc.message)
        return record
    with transaction.atomic():
        record.bill_lines.all().delete()
        BillLine.objects.bulk_create((_line(record, entry) for entry in entries), batch_size=CHUNK)
    found, matched = _Match(record, gateway, entries).run()
    _keep(record, found, first_time=first_time)
    payments = [entry for entry in entries if not entry.is_refund]
    record.lines, record.matched = len(entries), matched
    record.gross = sum((entry.amount for entry in payments), ZERO)
    record.refunds = sum((entry.amount for entry in entries if entry.is_refund), ZERO)
    record.fees = sum((entry.fee for entry in entries), ZERO)
    record.net = record.gross - record.refunds - record.fees
    record.differences = record.difference_set.count()
    record.open_differences = record.difference_set.filter(closed_at__isnull=True).count()
    record.state, record.detail = BillDay.State.RECONCILED, ""
    record.reconciled_at = timezone.now()
    record.save()
    if first_time:
        for entry in entries:
            metrics.BILL_LINES.labels(provider, "refund" if entry.is_refund else "payment").inc()
    logger.info(
        "bill of %s %s: %s lines, %s matched, %s differences (%s open)",
        provider, day, record.lines, matched, record.differences, record.open_differences,
    )  # fmt: skip
    return record


def _line(record: BillDay, entry: BillEntry) -> BillLine:
    return BillLine(
        bill=record,
        kind=BillLine.Kind.REFUND if entry.is_refund else BillLine.Kind.PAYMENT,
        order_number=entry.order_number[:64],
        refund_number=entry.refund_number[:64],
        transaction_id=entry.transaction_id[:64],
        amount=entry.amount,
        fee=entry.fee,
        occurred_at=entry.occurred_at,
    )


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


class _Match:
    """One day's matching: a few queries per 2,000 lines, whatever the bill's size."""

    def __init__(self, record: BillDay, gateway, entries: list[BillEntry]) -> None:
        self.record, self.gateway, self.day = record, gateway, record.day
        self.payments = {e.order_number: e for e in entries if not e.is_refund}
        self.refunds = {e.refund_number: e for e in entries if e.is_refund}
        self.found: dict[tuple, dict] = {}
        self.matched = 0

    def run(self) -> tuple[dict, int]:
        self._payments()
        self._refunds()
        self._paid_here_only()
        self._refunded_here_only()
        return self.found, self.matched

    def differ(self, kind, order_number: str, refund_number: str = "", **fields) -> None:
        self.found[(kind, order_number, refund_number)] = fields

    def _orders(self, numbers: list[str]) -> dict[str, VipOrder]:
        return {
            order.order_number: order
            for chunk in _chunks(numbers)
            for order in VipOrder.objects.filter(order_number__in=chunk).only(
                "order_number", "status", "amount", "payment_method", "user_id", "expire_time"
            )
        }

    def _payments(self) -> None:
        orders = self._orders(list(self.payments))
        for number, entry in self.payments.items():
            order = orders.get(number)
            if order is None:
                self.differ(Kind.PAID_THERE_ONLY, number, amount_there=entry.amount,
                            detail="平台没有这个订单")  # fmt: skip
            elif order.status != OrderStatus.PAID:
                self._complete_payment(order, entry)
            elif order.amount != entry.amount:
                self.differ(Kind.AMOUNT, number, amount_here=order.amount,
                            amount_there=entry.amount)  # fmt: skip
            else:
                self.matched += 1

    def _complete_payment(self, order: VipOrder, entry: BillEntry) -> None:
        """Paid at the provider, not here: the notification's own path, once."""
        try:
            services.order_mark_paid(
                order_number=order.order_number,
                amount=entry.amount,
                transaction_id=entry.transaction_id,
                provider=self.gateway.name,
            )
        except DomainError as exc:
            self.differ(Kind.PAID_THERE_ONLY, order.order_number, amount_here=order.amount,
                        amount_there=entry.amount, detail=exc.message)  # fmt: skip
            return
        self.differ(Kind.PAID_THERE_ONLY, order.order_number, amount_here=order.amount,
                    amount_there=entry.amount, detail="对账时补记为已支付",
                    closed=True)  # fmt: skip

    def _refunds(self) -> None:
        ours = {
            refund.refund_number: refund
            for chunk in _chunks(list(self.refunds))
            for refund in Refund.objects.filter(refund_number__in=chunk)
        }
        for number, entry in self.refunds.items():
            refund = ours.get(number)
            if refund is None:
                self._record_refund(entry)
            elif refund.amount != entry.amount:
                self.differ(Kind.AMOUNT, entry.order_number, number, amount_here=refund.amount,
                            amount_there=entry.amount)  # fmt: skip
            else:
                if refund.state == RefundState.PROCESSING:
                    refunds.refund_settle(
                        refund_id=refund.pk,
                        report=RefundReport(RefundState.SUCCEEDED, code="BILL"),
                    )
                self.matched += 1

    def _record_refund(self, entry: BillEntry) -> None:
        """Refunded at the provider (its console), not here: recorded as made there, once."""
        report = RefundReport(
            RefundState.SUCCEEDED,
            provider_refund_id=entry.transaction_id,
            refund_number=entry.refund_number,
            amount=entry.amount,
            code="BILL",
        )
        try:
            refund = refunds.refund_found(
                order_number=entry.order_number, provider=self.gateway.name, report=report
            )
        except DomainError as exc:
            refund, detail = None, exc.message
        else:
            detail = "平台没有该订单的已支付记录"
        fields = {"amount_there": entry.amount}
        if refund is not None:
            fields.update(amount_here=refund.amount, detail="对账时补记退款", closed=True)
        else:
            fields["detail"] = detail
        self.differ(Kind.REFUND_THERE_ONLY, entry.order_number, entry.refund_number, **fields)

    def _elsewhere(self, kind: str, numbers: set[str], field: str) -> set[str]:
        """Those of `numbers` in the provider's bill of the day before or after (stored)."""
        near = [self.day - timedelta(days=1), self.day + timedelta(days=1)]
        return {
            value
            for chunk in _chunks(sorted(numbers))
            for value in BillLine.objects.filter(
                bill__provider=self.gateway.name, bill__day__in=near, kind=kind,
                **{f"{field}__in": chunk},
            ).values_list(field, flat=True)
        }  # fmt: skip

    def _paid_here_only(self) -> None:
        start, end = day_start(self.day), day_start(self.day + timedelta(days=1))
        paid = dict(
            VipOrder.objects.filter(
                status=OrderStatus.PAID,
                pay_time__gte=start,
                pay_time__lt=end,
                payment_method__in=self.gateway.methods,
            ).values_list("order_number", "amount")
        )
        missing = set(paid) - set(self.payments)
        missing -= self._elsewhere(BillLine.Kind.PAYMENT, missing, "order_number")
        for number in missing:
            self.differ(Kind.PAID_HERE_ONLY, number, amount_here=paid[number])

    def _refunded_here_only(self) -> None:
        start, end = day_start(self.day), day_start(self.day + timedelta(days=1))
        made = {
            refund.refund_number: refund
            for refund in Refund.objects.filter(
                provider=self.gateway.name,
                state=RefundState.SUCCEEDED,
                completed_at__gte=start,
                completed_at__lt=end,
            ).select_related("order")
        }
        missing = set(made) - set(self.refunds)
        missing -= self._elsewhere(BillLine.Kind.REFUND, missing, "refund_number")
        for number in missing:
            refund = made[number]
            self.differ(Kind.REFUND_HERE_ONLY, refund.order.order_number, number,
                        amount_here=refund.amount)  # fmt: skip


def _keep(record: BillDay, found: dict[tuple, dict], *, first_time: bool) -> None:
    """Store the differences found: new ones created (counted), known ones updated (staff's
    notes kept), and open ones no longer found closed: they agree now."""
    now = timezone.now()
    known = {(d.kind, d.order_number, d.refund_number): d for d in record.difference_set.all()}
    for key, fields in found.items():
        closed = fields.pop("closed", False)
        difference = known.pop(key, None)
        if difference is None:
            kind, order_number, refund_number = key
            BillDifference.objects.create(
                bill=record, kind=kind, order_number=order_number, refund_number=refund_number,
                closed_at=now if closed else None, **fields,
            )  # fmt: skip
            metrics.BILL_DIFFERENCES.labels(record.provider, kind).inc()
            continue
        for name, value in fields.items():
            setattr(difference, name, value)
        if closed and difference.closed_at is None:
            difference.closed_at = now
        difference.save()
    for difference in known.values():
        if difference.closed_at is None:
            difference.closed_at, difference.note = now, "重新对账时已一致"
            difference.save(update_fields=["closed_at", "note"])


@transaction.atomic
def bill_difference_close(*, difference_id: int, actor, note: str) -> BillDifference:
    """Staff close a difference with what they did about it."""
    difference = BillDifference.objects.select_for_update().get(pk=difference_id)
    if difference.closed_at is None:
        difference.closed_at, difference.closed_by, difference.note = timezone.now(), actor, note
        difference.save(update_fields=["closed_at", "closed_by", "note"])
        BillDay.objects.filter(pk=difference.bill_id, open_differences__gt=0).update(
            open_differences=F("open_differences") - 1
        )
    return difference
