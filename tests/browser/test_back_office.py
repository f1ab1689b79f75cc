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
