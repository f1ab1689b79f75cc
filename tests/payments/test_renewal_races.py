"""连续包月 races on MariaDB with real threads: the renewal job running twice (two hosts, a beat
that fired twice) charges a period once, and a cancel that races a charge leaves no charge
after it. Each thread has its own database connection; each check is held open a moment so
that, without the agreement's row lock, the racers would all pass it."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from devtools.fake_agreements import Contract
from payments import renewals
from payments.models import Agreement, AgreementState, CancelledBy, RenewalCharge, VipOrder

from ..factories import UserFactory, VipPlanFactory
from ..helpers import requires_mariadb
from .renewal_helpers import ALIPAY
from .test_concurrency import run_together

pytestmark = [requires_mariadb, pytest.mark.django_db(transaction=True)]

HOSTS = 6


@pytest.fixture
def due(providers, held, clock):
    """An Alipay agreement whose second period is due now, its member reminded in time; the
    fake holds its contract."""
    plan = VipPlanFactory(id=4, name="连续包月", days=30, price=Decimal("25.00"), renews=True)
    user = UserFactory()
    now = timezone.now()
    agreement = Agreement.objects.create(
        user=user, plan=plan, payment_method=ALIPAY, provider="alipay",
        provider_agreement_id="2026fake0001", state=AgreementState.ACTIVE,
        plan_name=plan.name, period_days=30, price=plan.price, first_price=plan.price,
        sign_deadline=now, signed_at=now - timedelta(days=29), periods_paid=1,
        next_charge_date=renewals.china_day(now), reminded_period=2,
        reminded_at=now - timedelta(days=6),
    )  # fmt: skip
    providers.alipay.cycle.contracts[agreement.agreement_number] = Contract(
        "alipay", agreement.agreement_number, "http://testserver/api/payment/notify/alipay",
        single_amount=Decimal("25.00"), state="SIGNED",
        contract_id=agreement.provider_agreement_id,
    )  # fmt: skip
    return agreement


@pytest.fixture
def slow_checks(monkeypatch):
    """Each racer holds its check open 0.3 s before it acts on it."""
    checked = renewals._why_not

    def slowly(*args, **kwargs):
        answer = checked(*args, **kwargs)
        time.sleep(0.3)
        return answer

    monkeypatch.setattr(renewals, "_why_not", slowly)


def test_the_job_on_several_hosts_charges_a_period_once(due, providers, slow_checks):
    results = run_together([lambda: renewals.agreement_charge(agreement_id=due.pk)] * HOSTS)
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == [], errors
    charges = [r for r in results if r is not None]
    assert len(charges) == 1
    assert RenewalCharge.objects.filter(agreement=due).count() == 1
    assert VipOrder.objects.filter(user=due.user).count() == 1
    contract = providers.alipay.cycle.contracts[due.agreement_number]
    assert len(contract.charges) == 1  # the provider was asked once
    due.refresh_from_db()
    assert due.periods_paid == 2


def test_a_cancel_racing_the_charge_leaves_no_charge_after_it(due, providers, slow_checks):
    """Whichever takes the agreement's lock first wins; the charge is never made after the
    cancel has committed."""
    cancelled_at = {}

    def cancel():
        agreement = renewals.agreement_cancel(
            agreement_number=due.agreement_number, by=CancelledBy.MEMBER
        )
        cancelled_at["at"] = time.monotonic()
        return agreement

    def charge():
        return renewals.agreement_charge(agreement_id=due.pk)

    results = run_together([cancel, charge, charge, charge])
    assert [r for r in results if isinstance(r, Exception)] == []
    due.refresh_from_db()
    assert due.state == AgreementState.CANCELLED
    made = RenewalCharge.objects.filter(agreement=due)
    assert made.count() <= 1
    for charge_row in made:  # one that took the lock before the cancel: made before it
        assert charge_row.created_at <= due.ended_at
