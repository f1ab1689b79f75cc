"""Daily reconciliation against the providers' bills (`payments.bills`), with the fakes making
real bills of the days they served: WeChat Pay's backtick CSV, Alipay's zipped GBK CSV."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from devtools.fakes import Trade, fee
from payments import bills, refunds, services
from payments.gateways.base import CHINA_TIME
from payments.models import BillDay, BillDifference, OrderStatus, Refund, VipOrder
from users.models import VipChangeKind, VipLedgerEntry

from .test_providers import ALIPAY, WECHAT, buy

pytestmark = pytest.mark.django_db

NAMES = {WECHAT: "wechat", ALIPAY: "alipay"}
Kind = BillDifference.Kind


def fake_of(providers, method):
    return providers.wechat if method == WECHAT else providers.alipay


def reconcile(method) -> BillDay:
    return bills.bill_reconcile(provider=NAMES[method], day=timezone.localdate())


def differences(record: BillDay) -> dict[str, tuple]:
    return {
        d.get_kind_display(): (d.order_number, d.refund_number, d.closed_at is not None)
        for d in record.difference_set.all()
    }


@pytest.mark.parametrize("method", [WECHAT, ALIPAY])
def test_a_clean_day_adds_up(staff, paid, providers, method):
    paid(method)
    two, _ = paid(method)
    refunds.refund_request(order_number=two.order_number, amount=Decimal("22.00"), reason="x",
                           actor=staff)  # fmt: skip
    record = reconcile(method)
    assert (record.state, record.lines, record.matched) == ("reconciled", 3, 3)
    assert (record.differences, record.open_differences) == (0, 0)
    charged = 2 * fee(Decimal("88.00")) - fee(Decimal("22.00"))
    assert (record.gross, record.refunds, record.fees) == (Decimal("176.00"), Decimal("22.00"),
                                                           charged)  # fmt: skip
    assert record.net == Decimal("176.00") - Decimal("22.00") - charged
    assert record.bill_lines.count() == 3


@pytest.mark.parametrize("method", [WECHAT, ALIPAY])
def test_a_day_with_each_difference(api, user, staff, paid, providers, method):
    fake = fake_of(providers, method)
    now = datetime.now(CHINA_TIME)
    # paid at the provider, its notification lost: the order is still pending here
    lost = VipOrder.objects.get(order_number=buy(api, user, method).json()["orderId"])
    trade = fake.trades[lost.order_number]
    trade.state, trade.paid_at, trade.transaction_id = "SUCCESS", now, "T-lost"
    # paid at the provider for an order the platform does not have
    fake.trades["nobody-knows-this-one"] = Trade(
        NAMES[method], "nobody-knows-this-one", Decimal("29.90"), "月度会员", "", "",
        state="SUCCESS", transaction_id="T-stray", paid_at=now,
    )  # fmt: skip
    # paid here (another path), never at the provider
    here = VipOrder.objects.get(order_number=buy(api, user, method).json()["orderId"])
    services.order_mark_paid(order_number=here.order_number)
    # an amount that differs
    odd, odd_trade = paid(method)
    odd_trade.amount = Decimal("87.00")
    # refunded in the provider's console, never told
    console, console_trade = paid(method)
    console_trade.book_refund("console-1", Decimal("44.00"))
    # refunded here, absent from the provider's books
    mine, mine_trade = paid(method)
    made = refunds.refund_request(order_number=mine.order_number, amount=Decimal("8.80"),
                                  reason="x", actor=staff)  # fmt: skip
    mine_trade.refunds.clear()

    record = reconcile(method)
    assert record.state == "reconciled"
    assert differences(record) == {
        "网关已收款，平台未记录": ("nobody-knows-this-one", "", False),
        "平台已支付，账单中没有": (here.order_number, "", False),
        "金额不一致": (odd.order_number, "", False),
        "网关已退款，平台未记录": (console.order_number, "console-1", True),  # recorded
        "平台已退款，账单中没有": (mine.order_number, made.refund_number, False),
    }  # and the lost payment, completed:
    completed = record.difference_set.get(order_number=lost.order_number)
    assert (completed.kind, completed.detail) == (Kind.PAID_THERE_ONLY, "对账时补记为已支付")
    assert completed.closed_at is not None
    lost.refresh_from_db()
    assert lost.status == OrderStatus.PAID
    assert VipLedgerEntry.objects.filter(order=lost).count() == 1  # the VIP granted
    found = Refund.objects.get(order=console)
    assert (found.at_provider, found.amount) == (True, Decimal("44.00"))
    assert VipLedgerEntry.objects.filter(refund=found, kind=VipChangeKind.REFUND).exists()
    assert (record.differences, record.open_differences) == (6, 4)

    # the same day again: the same differences, nothing done twice
    again = reconcile(method)
    assert (again.differences, again.open_differences) == (6, 4)
    assert BillDifference.objects.count() == 6
    assert VipLedgerEntry.objects.filter(order=lost).count() == 1
    assert Refund.objects.filter(order=console).count() == 1

    # staff close one with a note
    difference = record.difference_set.get(kind=Kind.AMOUNT)
    bills.bill_difference_close(difference_id=difference.pk, actor=staff, note="网关已更正")
    record.refresh_from_db()
    assert record.open_differences == 3
    assert reconcile(method).open_differences == 3  # and it stays closed


def test_a_payment_whose_notification_was_lost_is_completed_from_the_bill(
    api, user, providers, plans
):
    lost = VipOrder.objects.get(order_number=buy(api, user, WECHAT).json()["orderId"])
    assert lost.status == OrderStatus.PENDING
    trade = providers.wechat.trades[lost.order_number]
    trade.state, trade.paid_at, trade.transaction_id = "SUCCESS", datetime.now(CHINA_TIME), "T"
    record = reconcile(WECHAT)
    assert (record.lines, record.matched, record.open_differences) == (1, 0, 0)
    lost.refresh_from_db()
    assert lost.status == OrderStatus.PAID


def test_a_bill_not_ready_waits_and_the_job_asks_again(paid, providers):
    paid(WECHAT)
    providers.wechat.bills_ready = False
    yesterday = timezone.localdate() - timedelta(days=1)
    assert bills.bills_reconcile(day=yesterday) == {"wechat": "waiting", "alipay": "reconciled"}
    providers.wechat.bills_ready = True
    assert bills.bills_reconcile(day=yesterday)["wechat"] == "reconciled"
    record = BillDay.objects.get(provider="wechat", day=yesterday)
    assert (record.attempts, record.lines) == (2, 0)  # nothing paid that day
    assert bills.bills_reconcile(day=yesterday)["wechat"] == "reconciled"
    record.refresh_from_db()
    assert record.attempts == 2  # a reconciled day is not fetched again by the job


def test_a_bill_whose_hash_does_not_check_is_refused(paid, providers):
    paid(WECHAT)
    providers.wechat.corrupt_bills = True
    try:
        record = reconcile(WECHAT)
    finally:
        providers.wechat.corrupt_bills = False
    assert (record.state, record.detail) == ("failed", "微信支付账单校验失败")
    assert not record.bill_lines.exists()
    assert reconcile(WECHAT).state == "reconciled"  # the next try


def test_any_past_day_by_command(paid, providers, capsys):
    paid(ALIPAY)
    call_command("reconcile_bills", "--day", f"{timezone.localdate():%Y-%m-%d}")
    out = capsys.readouterr().out
    assert "alipay" in out and "reconciled" in out
    assert BillDay.objects.get(provider="alipay").lines == 1


def test_the_reconciliation_is_seen_by_prometheus(paid, api, user, providers):
    from ..test_monitoring import scrape, value

    before = scrape()
    assert value(before, "vip_bill_reconciled_through_timestamp_seconds", provider="wechat") == 0
    lost = VipOrder.objects.get(order_number=buy(api, user, WECHAT).json()["orderId"])
    providers.wechat.trades[lost.order_number].state = "SUCCESS"
    providers.wechat.trades["stray"] = Trade(
        "wechat", "stray", Decimal("29.90"), "月度会员", "", "", state="SUCCESS"
    )
    reconcile(WECHAT)
    after = scrape()
    tomorrow = timezone.localdate() + timedelta(days=1)
    through = timezone.make_aware(datetime.combine(tomorrow, datetime.min.time()))
    assert value(after, "vip_bill_reconciled_through_timestamp_seconds", provider="wechat") == (
        through.timestamp()
    )
    assert value(after, "vip_bill_open_differences", provider="wechat") == 1
    # two differences, the stray payment (open) and the lost one (completed)
    name, labels = "vip_bill_differences_total", {"provider": "wechat", "kind": "paid_there"}
    assert value(after, name, **labels) - value(before, name, **labels) == 2
    lines = {"provider": "wechat", "kind": "payment"}
    assert (
        value(after, "vip_bill_lines_total", **lines)
        - value(before, "vip_bill_lines_total", **lines)
        == 2
    )


def test_the_admin_shows_a_calendar_and_staff_close_differences(
    admin_client, api, user, paid, providers
):
    paid(WECHAT)
    providers.wechat.trades["stray"] = Trade(
        "wechat", "stray", Decimal("29.90"), "月度会员", "", "", state="SUCCESS"
    )
    record = reconcile(WECHAT)
    calendar = admin_client.get("/admin/payments/billday/").content.decode()
    assert 'id="bill-calendar"' in calendar
    assert f'href="/admin/payments/billday/{record.pk}/change/">1</a>' in calendar
    assert 'class="bill-cell bad"' in calendar
    day = admin_client.get(f"/admin/payments/billday/{record.pk}/change/").content.decode()
    assert "stray（平台没有此订单）" in day
    difference = record.difference_set.get()
    url = "/admin/payments/billdifference/"
    chosen = {"action": "close_differences", "_selected_action": [difference.pk]}
    asked = admin_client.post(url, chosen).content.decode()
    assert 'id="close-form"' in asked
    refused = admin_client.post(url, {**chosen, "confirm": "1", "note": ""})
    assert "该字段是必填项" in refused.content.decode()
    admin_client.post(url, {**chosen, "confirm": "1", "note": "测试交易，已在商户后台核实"})
    difference.refresh_from_db()
    assert (difference.note, difference.closed_by.is_superuser) == (
        "测试交易，已在商户后台核实",
        True,
    )
    record.refresh_from_db()
    assert record.open_differences == 0
    calendar = admin_client.get("/admin/payments/billday/").content.decode()
    assert 'class="bill-cell ok"' in calendar
