"""连续包月 against the local fakes of WeChat Pay (委托代扣) and Alipay (周期扣款): an agreement's
whole life with a clock the tests move: signed, first period charged, reminded at least five
days before the renewal (and WeChat Pay's pre-debit notice), charged once per period, a failed
charge retried then suspended, cancelled from the page or from the provider's app."""

from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.core import mail

from payments import renewals
from payments.models import (
    Agreement,
    AgreementState,
    CancelledBy,
    OrderStatus,
    ProviderCall,
    RenewalCharge,
    VipOrder,
)
from users.models import MemberEmail, MemberEmailKind, VipLedgerEntry

from .renewal_helpers import ALIPAY, WECHAT, sign, signed_agreement

pytestmark = pytest.mark.django_db

METHODS = pytest.mark.parametrize("method", [WECHAT, ALIPAY], ids=["wechat", "alipay"])


def contracts_of(providers, method):
    return providers.wechat.papay if method == WECHAT else providers.alipay.cycle


def run(django_capture_on_commit_callbacks, held):
    """The renewal job as beat runs it (its charge tasks eager), then the notifications."""
    with django_capture_on_commit_callbacks(execute=True):
        counts = renewals.renewals_run()
    held.deliver()
    return counts


def ledger(user):
    return list(
        VipLedgerEntry.objects.filter(user=user).order_by("pk").values_list("reason", flat=True)
    )


@METHODS
def test_signing_charges_the_first_period_and_grants_it(
    member, user, providers, held, clock, renewing_plan, method
):
    agreement = signed_agreement(member, providers, held, renewing_plan, method)
    assert agreement.state == AgreementState.ACTIVE and agreement.provider_agreement_id
    assert agreement.periods_paid == 1
    charge = agreement.charges.get()
    assert (charge.state, charge.order.amount) == (RenewalCharge.State.PAID, Decimal("15.00"))
    assert charge.order.status == OrderStatus.PAID
    user.refresh_from_db()
    assert user.vip_active() and user.vip_expire_time > clock.days_later(0) + timedelta(days=29)
    assert ledger(user) == [f"自动续费连续包月第1期（订单 {charge.order.order_number}）"]
    # the next charge a day before the days bought run out
    assert agreement.next_charge_date == (clock.days_later(0) + timedelta(days=29)).date()
    kinds = set(MemberEmail.objects.filter(user=user).values_list("kind", flat=True))
    assert kinds == {MemberEmailKind.AGREEMENT, MemberEmailKind.RECEIPT}
    assert any("自动续费第1期已扣款成功" in m.body for m in mail.outbox)
    assert contracts_of(providers, method).contracts[agreement.agreement_number].refused == []


@METHODS
def test_a_month_later_the_member_is_reminded_then_charged_once(
    member, user, providers, held, clock, renewing_plan, method, django_capture_on_commit_callbacks
):
    agreement = signed_agreement(member, providers, held, renewing_plan, method)
    contract = contracts_of(providers, method).contracts[agreement.agreement_number]
    due = agreement.next_charge_date
    # 7 days before: nothing yet
    clock.days_later(22)
    assert run(django_capture_on_commit_callbacks, held)["reminded"] == 0
    # 6 days before: the reminder (and WeChat Pay's notice); no charge
    clock.days_later(1)
    counts = run(django_capture_on_commit_callbacks, held)
    assert (counts["reminded"], counts["charging"]) == (1, 0)
    assert counts["noticed"] == (1 if method == WECHAT else 0)
    reminder = MemberEmail.objects.get(kind=MemberEmailKind.RENEWAL_REMINDER)
    assert reminder.reference == f"{agreement.agreement_number}:2"
    assert f"{due:%Y-%m-%d}" in mail.outbox[-1].body and "¥25.00" in mail.outbox[-1].body
    assert member.get(f"/api/payment/agreements/{agreement.agreement_number}").json()["reminded"]
    # the day: charged 25.00, once, however often the job runs
    clock.days_later(6)
    for _ in range(3):
        run(django_capture_on_commit_callbacks, held)
    agreement.refresh_from_db()
    assert agreement.periods_paid == 2
    second = agreement.charges.get(period=2)
    assert (second.state, second.order.amount) == (RenewalCharge.State.PAID, Decimal("25.00"))
    assert len(contract.charges) == 2 and contract.refused == []
    assert len(ledger(user)) == 2 and "第2期" in ledger(user)[1]
    # the old front end's order list shows it as a paid order
    orders = member.get(f"/api/payment/users/{user.pk}/orders").json()["content"]
    assert [o["status"] for o in orders] == [OrderStatus.PAID, OrderStatus.PAID]


def test_no_charge_without_the_reminder_five_days_before(
    member, user, providers, held, clock, renewing_plan, django_capture_on_commit_callbacks
):
    """The job did not run for weeks: the reminder goes late, and the charge waits five days
    after it (never sooner), then goes."""
    agreement = signed_agreement(member, providers, held, renewing_plan, ALIPAY)
    due = agreement.next_charge_date
    clock.days_later(29)  # the charge day itself, never reminded
    counts = run(django_capture_on_commit_callbacks, held)
    assert (counts["reminded"], counts["charging"]) == (1, 0)
    agreement.refresh_from_db()
    assert agreement.next_charge_date == due + timedelta(days=5)
    assert agreement.charges.count() == 1
    # and asking for the charge directly is refused by the rule, not by luck
    assert renewals.agreement_charge(agreement_id=agreement.pk) is None
    clock.days_later(5)
    run(django_capture_on_commit_callbacks, held)
    agreement.refresh_from_db()
    assert agreement.periods_paid == 2
    reminded = agreement.reminded_at
    assert agreement.charges.get(period=2).created_at - reminded >= timedelta(days=5)


def test_no_wechat_charge_without_its_pre_debit_notice_in_time(
    member, user, providers, held, clock, renewing_plan, django_capture_on_commit_callbacks
):
    """Notices only 07:00–22:00; the charge waits for the notice's window (two days on)."""
    agreement = signed_agreement(member, providers, held, renewing_plan, WECHAT)
    clock.days_later(23, hour=23)  # 6 days before, at 23:00: the reminder, no notice
    counts = run(django_capture_on_commit_callbacks, held)
    assert (counts["reminded"], counts["noticed"]) == (1, 0)
    clock.days_later(6, hour=10)  # the day, but the notice never went: it goes now
    counts = run(django_capture_on_commit_callbacks, held)
    assert (counts["noticed"], counts["charging"]) == (1, 0)
    agreement.refresh_from_db()
    assert agreement.periods_paid == 1
    clock.days_later(1)
    assert run(django_capture_on_commit_callbacks, held)["charging"] == 0  # its waiting day
    clock.days_later(1)
    run(django_capture_on_commit_callbacks, held)
    agreement.refresh_from_db()
    assert agreement.periods_paid == 2
    contract = providers.wechat.papay.contracts[agreement.agreement_number]
    assert contract.refused == [] and len(contract.notices) == 1


@METHODS
def test_a_failed_charge_is_retried_then_the_agreement_is_suspended(
    member, user, providers, held, clock, renewing_plan, method, django_capture_on_commit_callbacks
):
    agreement = signed_agreement(member, providers, held, renewing_plan, method)
    contracts = contracts_of(providers, method)
    clock.days_later(23)
    run(django_capture_on_commit_callbacks, held)  # reminded
    contracts.short_balance = 3
    expiry = user.__class__.objects.get(pk=user.pk).vip_expire_time
    for day in range(3):
        clock.days_later(6 if day == 0 else 1)
        run(django_capture_on_commit_callbacks, held)
        agreement.refresh_from_db()
        assert agreement.failures == (day + 1 if day < 2 else 3)
    assert agreement.state == AgreementState.SUSPENDED
    failed = agreement.charges.filter(period=2)
    assert sorted(failed.values_list("attempt", "state")) == [
        (1, "failed"), (2, "failed"), (3, "failed"),
    ]  # fmt: skip
    assert all(order.status == OrderStatus.CANCELLED for order in VipOrder.objects.filter(
        renewal_charge__in=failed
    ))  # fmt: skip
    kinds = list(MemberEmail.objects.filter(user=user).values_list("kind", "reference"))
    assert (MemberEmailKind.RENEWAL_FAILED, f"{agreement.agreement_number}:2-1") in kinds
    assert (MemberEmailKind.AGREEMENT, f"{agreement.agreement_number}:suspended") in kinds
    # unsigned at the provider, and the membership simply runs out
    assert contracts.contracts[agreement.agreement_number].state == "TERMINATED"
    assert agreement.unsigned_at_provider
    user.refresh_from_db()
    assert user.vip_expire_time == expiry
    clock.days_later(1)
    assert run(django_capture_on_commit_callbacks, held)["charging"] == 0


@METHODS
def test_cancel_on_the_page_ends_it_at_once_and_at_the_provider(
    member, user, providers, held, clock, renewing_plan, method, django_capture_on_commit_callbacks
):
    agreement = signed_agreement(member, providers, held, renewing_plan, method)
    expiry = user.__class__.objects.get(pk=user.pk).vip_expire_time
    with django_capture_on_commit_callbacks(execute=True):
        answer = member.post(f"/api/payment/agreements/{agreement.agreement_number}/cancel")
    assert answer.status_code == HTTPStatus.OK, answer.content
    assert (answer.json()["state"], answer.json()["cancelledBy"]) == ("cancelled", "member")
    held.deliver()  # WeChat Pay tells of the merchant's terminate too: a duplicate
    agreement.refresh_from_db()
    assert agreement.unsigned_at_provider
    assert contracts_of(providers, method).contracts[agreement.agreement_number].state == (
        "TERMINATED"
    )
    # a month on, nothing is charged; the days paid for were kept
    clock.days_later(29)
    counts = run(django_capture_on_commit_callbacks, held)
    assert (counts["reminded"], counts["charging"]) == (0, 0)
    assert agreement.charges.count() == 1
    user.refresh_from_db()
    assert user.vip_expire_time == expiry
    again = member.post(f"/api/payment/agreements/{agreement.agreement_number}/cancel")
    assert again.status_code == HTTPStatus.CONFLICT


@METHODS
def test_unsigned_in_the_app_is_honoured(
    member, user, providers, held, clock, renewing_plan, method, django_capture_on_commit_callbacks
):
    agreement = signed_agreement(member, providers, held, renewing_plan, method)
    contracts = contracts_of(providers, method)
    contracts.end(contracts.contracts[agreement.agreement_number])
    assert held.deliver() in ([HTTPStatus.NO_CONTENT], [HTTPStatus.OK])
    agreement.refresh_from_db()
    assert (agreement.state, agreement.cancelled_by) == ("cancelled", CancelledBy.APP)
    assert agreement.unsigned_at_provider
    assert ProviderCall.objects.filter(kind=ProviderCall.Kind.UNSIGN).count() == 0
    clock.days_later(29)
    assert run(django_capture_on_commit_callbacks, held)["charging"] == 0
    assert MemberEmail.objects.filter(
        kind=MemberEmailKind.AGREEMENT, reference=f"{agreement.agreement_number}:cancelled"
    ).exists()


def test_a_second_agreement_is_refused_while_one_is_active(
    member, user, providers, held, clock, renewing_plan
):
    signed_agreement(member, providers, held, renewing_plan, WECHAT)
    answer = sign(member, renewing_plan.pk, ALIPAY)
    assert answer.status_code == HTTPStatus.CONFLICT
    assert Agreement.objects.count() == 1


def test_the_same_signing_asked_twice_is_one_agreement(member, user, providers, renewing_plan):
    first = sign(member, renewing_plan.pk, WECHAT).json()
    second = sign(member, renewing_plan.pk, WECHAT).json()
    assert first["agreementNumber"] == second["agreementNumber"]
    assert first["state"] == "signing" and first["qrCodeUrl"].endswith("/qrcode.svg")


def test_renewing_plans_are_not_sold_once(member, user, providers, renewing_plan):
    plans = member.get("/api/payment/plans").json()
    assert renewing_plan.pk not in [plan["id"] for plan in plans]
    answer = member.post(
        "/api/payment/generate-qrcode",
        {"userId": user.pk, "planId": renewing_plan.pk, "amount": "25.00", "paymentMethod": 0},
        format="json",
    )
    assert answer.status_code == HTTPStatus.BAD_REQUEST
    offered = member.get("/api/payment/renewal-plans").json()
    assert offered == [
        {"id": 4, "name": "连续包月", "days": 30, "price": 25.0, "firstPrice": 15.0,
         "paymentMethods": [0, 1]},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("reminded_days_ago", "charged"), [(4.9, False), (5.01, True)], ids=["4.9 days", "5 days"]
)
def test_the_charge_itself_checks_the_reminder_five_days_before(
    member, user, providers, held, clock, renewing_plan, reminded_days_ago, charged
):
    """Whatever moved the charge day (staff, a restore), the charge is refused by its own rule
    unless the member was reminded at least five days before."""
    agreement = signed_agreement(member, providers, held, renewing_plan, ALIPAY)
    now = clock.days_later(29)
    Agreement.objects.filter(pk=agreement.pk).update(
        reminded_period=2, reminded_at=now - timedelta(days=reminded_days_ago)
    )
    charge = renewals.agreement_charge(agreement_id=agreement.pk)
    assert (charge is not None) is charged
    assert agreement.charges.count() == (2 if charged else 1)


@pytest.mark.parametrize(
    ("noticed_days_ago", "charged"),
    [(1, False), (2, True), (8, True), (9, False)],
    ids=["waiting day", "first day", "last day", "past the window"],
)
def test_the_wechat_charge_itself_keeps_the_pre_debit_notice_window(
    member, user, providers, held, clock, renewing_plan, noticed_days_ago, charged
):
    agreement = signed_agreement(member, providers, held, renewing_plan, WECHAT)
    now = clock.days_later(29)
    contract = providers.wechat.papay.contracts[agreement.agreement_number]
    noticed = now - timedelta(days=noticed_days_ago)
    contract.notices.append([noticed.date(), 2500, False])  # the fake's book of it
    Agreement.objects.filter(pk=agreement.pk).update(
        reminded_period=2, reminded_at=now - timedelta(days=10),
        noticed_period=2, noticed_at=noticed,
    )  # fmt: skip
    charge = renewals.agreement_charge(agreement_id=agreement.pk)
    assert (charge is not None) is charged
    assert contract.refused == []  # never asked outside the window WeChat Pay allows
    assert len(contract.charges) == (2 if charged else 1)


def test_no_charge_outside_the_hours(member, user, providers, held, clock, renewing_plan):
    agreement = signed_agreement(member, providers, held, renewing_plan, ALIPAY)
    now = clock.days_later(29, hour=22)
    Agreement.objects.filter(pk=agreement.pk).update(
        reminded_period=2, reminded_at=now - timedelta(days=6)
    )
    assert renewals.agreement_charge(agreement_id=agreement.pk) is None
    clock.days_later(0.5)  # 10:00 the next day
    assert renewals.agreement_charge(agreement_id=agreement.pk) is not None
