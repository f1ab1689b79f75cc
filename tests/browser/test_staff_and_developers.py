"""Staff in the admin and a developer in the browsable API and Swagger UI, at 1280 px in a
real browser. Screenshots go to artifacts/screenshots/ (`bin/screenshots` also updates docs/)."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from payments.models import VipOrder, VipPlan
from users.models import User, VipLedgerEntry

from ..factories import PASSWORD, UserFactory, VipOrderFactory, VipPlanFactory
from ..helpers import requires_mariadb
from .conftest import take_screenshot

pytestmark = [requires_mariadb, pytest.mark.django_db(transaction=True), pytest.mark.browser]


def keep(page, name: str) -> None:
    take_screenshot(page, name)


def test_a_plan_with_a_bad_price_is_refused(staff_desk, live_server):
    staff_desk.goto(f"{live_server.url}/admin/payments/vipplan/1/change/")
    expect(staff_desk.get_by_text("已创建的订单保留下单时的套餐名称")).to_be_visible()
    staff_desk.locator("#id_price").fill("-1")
    staff_desk.get_by_role("button", name="保存", exact=True).click()
    expect(staff_desk.locator(".errorlist")).to_contain_text("0.01")
    assert VipPlan.objects.get(pk=1).price > 0


def test_a_grant_that_shortens_a_membership_is_marked(staff_desk, live_server):
    member = UserFactory(username="loyal")
    User.objects.filter(pk=member.pk).update(
        is_vip=True, vip_expire_time=datetime(2099, 12, 26, tzinfo=ZoneInfo("Asia/Shanghai"))
    )
    staff_desk.goto(f"{live_server.url}/admin/users/user/?q=loyal")
    staff_desk.locator("input.action-select").first.check()
    staff_desk.locator("select[name=action]").select_option("grant_vip")
    staff_desk.get_by_role("button", name=re.compile("执行|Go")).click()
    staff_desk.locator("#id_expire_time_0").fill("2099-12-01")
    staff_desk.locator("#id_expire_time_1").fill("00:00:00")
    staff_desk.locator("#id_reason").fill("调整")
    staff_desk.get_by_role("button", name="下一步：核对变更").click()
    expect(staff_desk.locator("#vip-preview tr.shortens")).to_contain_text("缩短会员期限")
    keep(staff_desk, "admin-grant-confirmation")
    assert not VipLedgerEntry.objects.exists()


def test_the_expired_filter_finds_an_overdue_pending_order(staff_desk, live_server):
    overdue = VipOrderFactory(expire_time=timezone.now() - timedelta(minutes=1))
    VipOrderFactory.create_batch(3, status=1, pay_time=timezone.now())
    staff_desk.goto(f"{live_server.url}/admin/payments/viporder/")
    staff_desk.get_by_role("link", name="已过期", exact=True).click()
    expect(staff_desk.locator("#result_list tbody tr")).to_have_count(1)
    expect(staff_desk.locator("#result_list")).to_contain_text(overdue.order_number)
    staff_desk.goto(f"{live_server.url}/admin/payments/viporder/")
    keep(staff_desk, "admin-orders")


def test_the_browsable_api_form_creates_an_order(desk, live_server):
    for pk in (1, 2, 3):
        VipPlanFactory(id=pk)
    buyer = UserFactory(username="dev")
    desk.goto(f"{live_server.url}/api-auth/login/?next=/api/payment/generate-qrcode")
    desk.get_by_label("用户名").fill("dev")
    desk.get_by_label("密码").fill(PASSWORD)
    desk.get_by_role("button", name=re.compile("登录|Log in")).click()
    expect(desk.get_by_text("必须等于所选套餐的现价")).to_be_visible()
    form = desk.locator("#post-object-form")
    form.locator("[name=userId]").fill(str(buyer.pk))
    form.locator("[name=planId]").fill("2")
    form.locator("[name=amount]").fill("88.00")
    form.locator("[name=paymentMethod]").select_option("1")
    form.get_by_role("button", name="POST").click()
    expect(desk.locator(".response-info")).to_contain_text("orderId")
    assert VipOrder.objects.get(user=buyer).amount == 88


def test_swagger_ui_lists_the_plans_endpoint(desk, live_server):
    desk.goto(f"{live_server.url}/api/docs/")
    expect(desk.get_by_text("/api/payment/plans").first).to_be_visible()
    expect(desk.get_by_role("heading", name="订单管理")).to_be_visible()
