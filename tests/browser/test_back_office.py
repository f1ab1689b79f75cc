"""The back office at 1280 px in a real browser: the one search box, an order's story, a
member's page and a CSV export. Screenshots go to artifacts/screenshots/ (`bin/screenshots`
also updates docs/)."""

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from payments import services
from payments.models import NotificationOutcome, OrderStatus, PaymentNotification, VipPlan

from ..factories import UserFactory, VipOrderFactory
from ..helpers import requires_mariadb
from .conftest import take_screenshot

pytestmark = [requires_mariadb, pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def story(staff_desk):
    """A member with two orders: one paid after a refused notification (grant, ledger row,
    receipt), one pending."""
    member = UserFactory(username="lin", email="lin@example.com", phone="13800138000")
    paid = VipOrderFactory(
        user=member,
        plan=VipPlan.objects.get(pk=2),
        create_time=timezone.now() - timedelta(minutes=9),
    )
    PaymentNotification.objects.create(
        provider="wechat",
        order_number=paid.order_number,
        outcome=NotificationOutcome.REFUSED,
        detail="签名无效",
        received_at=timezone.now() - timedelta(minutes=8),
    )
    services.order_mark_paid(order_number=paid.order_number, transaction_id="4200000777")
    VipOrderFactory(user=member, plan=VipPlan.objects.get(pk=1))
    return member, paid


def test_the_search_box_opens_an_order_and_tells_its_story(staff_desk, live_server, story):
    _, paid = story
    staff_desk.goto(f"{live_server.url}/admin/")
    staff_desk.get_by_label("搜索").fill("4200000777")  # the provider's transaction id
    staff_desk.get_by_role("button", name="搜索").click()
    expect(staff_desk).to_have_url(re.compile(rf"/admin/payments/viporder/{paid.pk}/change/$"))
    steps = staff_desk.locator("#order-story tbody tr")
    expect(steps.first).to_contain_text("创建订单")
    expect(staff_desk.locator("#order-story")).to_contain_text("支付通知：已拒绝")
    expect(staff_desk.locator("#order-story")).to_contain_text("VIP变更：购买")
    expect(staff_desk.locator("#order-story")).to_contain_text("邮件：支付成功")
    take_screenshot(staff_desk, "admin-order-story")
    # from the order to its member
    staff_desk.get_by_role("link", name="lin", exact=True).first.click()
    expect(staff_desk.locator("#member-orders tbody tr")).to_have_count(2)
    expect(staff_desk.locator("#member-emails")).to_contain_text("lin@example.com")
    take_screenshot(staff_desk, "admin-member")


def test_the_search_box_lists_what_starts_with_the_term(staff_desk, live_server, story):
    member, _ = story
    UserFactory(username="lina")
    staff_desk.goto(f"{live_server.url}/admin/")
    staff_desk.get_by_label("搜索").fill("lin")
    staff_desk.get_by_role("button", name="搜索").click()
    # the exact user alone opens at once
    expect(staff_desk).to_have_url(re.compile(rf"/admin/users/user/{member.pk}/change/$"))
    staff_desk.goto(f"{live_server.url}/admin/search/?q=lin&open=0")
    expect(staff_desk.locator("#search-exact")).to_contain_text("lin")
    expect(staff_desk.locator("#search-starting")).to_contain_text("lina")
    take_screenshot(staff_desk, "admin-search")


def test_an_export_of_the_filtered_orders(staff_desk, live_server, story):
    _, paid = story
    staff_desk.goto(f"{live_server.url}/admin/payments/viporder/?status=1")
    expect(staff_desk.locator("#export-form")).to_be_visible()
    today = timezone.localdate()
    staff_desk.locator("#export-form input[name=start]").fill(f"{today - timedelta(days=1)}")
    staff_desk.locator("#export-form input[name=end]").fill(f"{today}")
    take_screenshot(staff_desk, "admin-export")
    with staff_desk.expect_download() as download:
        staff_desk.get_by_role("button", name="导出CSV").click()
    body = Path(download.value.path()).read_bytes()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == [paid.order_number]
    assert rows[1][7] == OrderStatus.PAID.label


def test_a_refund_from_the_orders_page(staff_desk, live_server, story):
    member, paid = story
    member.refresh_from_db()
    granted = member.vip_expire_time
    staff_desk.goto(f"{live_server.url}/admin/payments/viporder/{paid.pk}/change/")
    staff_desk.locator("#refund-link").click()
    expect(staff_desk.get_by_label("退款金额")).to_have_value("88.00")  # all, by default
    expect(staff_desk.locator("#refund-membership")).to_contain_text(
        f"{timezone.localtime(granted):%Y-%m-%d %H:%M}"
    )
    staff_desk.get_by_label("退款金额").fill("44.00")
    staff_desk.get_by_role("button", name="下一步：确认").click()
    # a reason is required: the browser keeps the form until there is one
    expect(staff_desk.get_by_label("退款原因")).to_have_attribute("required", "")
    expect(staff_desk.get_by_role("button", name=re.compile("确认退款"))).to_have_count(0)
    staff_desk.get_by_label("退款原因").fill("重复购买，退一半")
    staff_desk.get_by_role("button", name="下一步：确认").click()
    after = granted - timedelta(days=45)  # half of the quarter's 90 days
    expect(staff_desk.locator("#refund-membership")).to_contain_text(
        f"{timezone.localtime(after):%Y-%m-%d %H:%M}"
    )
    take_screenshot(staff_desk, "admin-refund")
    staff_desk.get_by_role("button", name="确认退款¥44.00").click()
    expect(staff_desk).to_have_url(re.compile(rf"/admin/payments/viporder/{paid.pk}/change/$"))
    expect(staff_desk.locator(".messagelist")).to_contain_text("¥44.00，退款成功")
    expect(staff_desk.locator("#order-story")).to_contain_text("VIP变更：退款")
    member.refresh_from_db()
    assert member.vip_expire_time == after
    assert paid.refunds.get().requested_by.username == "boss"


def test_the_bill_calendar_a_clean_day_and_a_day_of_differences(staff_desk, live_server, providers):
    from decimal import Decimal

    from devtools.fakes import CHINA_TIME, Trade
    from payments import bills, refunds
    from payments.models import BillDifference

    now = timezone.now().astimezone(CHINA_TIME)
    member = UserFactory(username="wang")

    def order(method: int, *, paid: bool, trade: str | None = "SUCCESS", amount=None):
        made = VipOrderFactory(user=member, plan=VipPlan.objects.get(pk=2), payment_method=method)
        if paid:
            services.order_mark_paid(order_number=made.order_number)
        if trade:
            fake = providers.wechat if method == 0 else providers.alipay
            fake.trades[made.order_number] = Trade(
                "wechat" if method == 0 else "alipay", made.order_number,
                amount or made.amount, made.plan_name, "", "", state=trade,
                transaction_id=f"T{made.pk}", paid_at=now,
            )  # fmt: skip
        return made

    # Alipay: a clean day
    order(1, paid=True)
    order(1, paid=True)
    # WeChat Pay: one of each difference
    order(0, paid=False)  # paid there, the notification lost: completed
    providers.wechat.trades["stray-0001"] = Trade(
        "wechat", "stray-0001", Decimal("29.90"), "月度会员", "", "", state="SUCCESS", paid_at=now
    )
    order(0, paid=True, trade=None)  # paid here only
    order(0, paid=True, amount=Decimal("87.00"))  # the amounts differ
    console = order(0, paid=True)
    providers.wechat.trades[console.order_number].book_refund("console-7", Decimal("44.00"))
    mine = order(0, paid=True)
    refunds.refund_request(order_number=mine.order_number, amount=Decimal("8.80"), reason="x")
    providers.wechat.trades[mine.order_number].refunds.clear()  # absent from the bill
    today = timezone.localdate()
    clean = bills.bill_reconcile(provider="alipay", day=today)
    red = bills.bill_reconcile(provider="wechat", day=today)
    assert (clean.lines, clean.matched, clean.differences) == (2, 2, 0)
    assert (red.differences, red.open_differences) == (6, 4)

    staff_desk.goto(f"{live_server.url}/admin/payments/billday/")
    cells = staff_desk.locator("#bill-calendar tbody tr")
    expect(cells.filter(has_text="支付宝").locator("td.ok")).to_have_count(1)
    expect(cells.filter(has_text="微信支付").locator("td.bad")).to_have_count(1)
    expect(staff_desk.locator("#open-differences")).to_have_text("4")
    take_screenshot(staff_desk, "admin-bills")
    cells.filter(has_text="微信支付").locator("td.bad a").click()
    rows = staff_desk.locator("#difference_set-group tbody tr.has_original")
    expect(rows).to_have_count(6)
    expect(staff_desk.locator("#difference_set-group")).to_contain_text(
        "stray-0001（平台没有此订单）"
    )
    expect(staff_desk.locator("#difference_set-group")).to_contain_text("对账时补记为已支付")
    take_screenshot(staff_desk, "admin-bill-day")
    # staff look into the four open ones and close them with a note
    staff_desk.locator("#handle-differences").click()
    expect(staff_desk.locator("#result_list tbody tr")).to_have_count(4)
    staff_desk.locator("#action-toggle").check()
    staff_desk.locator("select[name=action]").select_option("close_differences")
    staff_desk.get_by_role("button", name=re.compile("执行|Go")).click()
    staff_desk.get_by_label("处理说明").fill("已与微信支付商户平台核对")
    staff_desk.get_by_role("button", name="关闭 4 个差异").click()
    expect(staff_desk.locator(".messagelist")).to_contain_text("已关闭 4 个差异")
    assert not BillDifference.objects.filter(closed_at__isnull=True).exists()
    staff_desk.goto(f"{live_server.url}/admin/payments/billday/")
    expect(cells.filter(has_text="微信支付").locator("td.ok")).to_have_count(1)
