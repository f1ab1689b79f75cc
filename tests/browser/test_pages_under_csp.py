"""The pages work in a real browser under the Content-Security-Policy: the sandbox checkout,
the admin and Swagger UI, with no resource or script refused by the policy."""

import re

import pytest
from playwright.sync_api import expect

from payments.models import OrderStatus, VipOrder
from vipplatform.jobs import JOBS

from ..factories import PASSWORD, StaffFactory, VipOrderFactory, VipPlanFactory
from ..helpers import requires_mariadb
from ..servers import wait_until

pytestmark = [requires_mariadb, pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def csp_violations(page):
    """What the browser reports refusing because of the policy."""
    refused = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return refused


def test_the_sandbox_checkout_pays_under_the_policy(page, live_server, csp_violations, screenshot):
    order = VipOrderFactory(plan=VipPlanFactory(id=2))
    response = page.goto(f"{live_server.url}/pay/{order.order_number}/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.get_by_role("button", name="模拟支付成功").click()
    expect(page.locator("#result")).to_have_text("支付成功，请回到电脑查看")
    screenshot("checkout-paid")
    # The page answers when the sandbox has booked the payment; its notification to the
    # callback follows, from the sandbox's delivery thread.
    assert wait_until(
        lambda: VipOrder.objects.get(pk=order.pk).status == OrderStatus.PAID, timeout=10
    )
    assert csp_violations == []


def test_the_admin_works_under_the_policy(page, live_server, csp_violations, screenshot):
    StaffFactory(username="boss", is_superuser=True)
    VipOrderFactory(plan=VipPlanFactory(id=1))
    page.goto(f"{live_server.url}/admin/login/?next=/admin/payments/viporder/")
    page.get_by_label("用户名").fill("boss")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("登录")).click()
    expect(page).to_have_url(re.compile(r"/admin/payments/viporder/$"))
    expect(page.locator("#result_list")).to_be_visible()
    page.locator("#action-toggle").check()  # the admin's own script selects every row
    expect(page.locator(".action-counter")).to_contain_text("1")
    screenshot("admin-orders")
    assert csp_violations == []


def test_swagger_ui_renders_under_the_policy(page, live_server, csp_violations, screenshot):
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    expect(page.get_by_text("/api/payment/generate-qrcode").first).to_be_visible()
    screenshot("swagger-ui")
    assert csp_violations == []


def test_staff_see_the_beat_schedule_in_the_admin(page, live_server, csp_violations, screenshot):
    StaffFactory(username="boss", is_superuser=True)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/django_celery_beat/periodictask/")
    page.get_by_label("用户名").fill("boss")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("登录")).click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(len(JOBS))
    for name in JOBS:
        expect(page.locator("#result_list")).to_contain_text(name)
    expect(rows.filter(has_text="关闭到期会员")).to_contain_text("60")
    page.set_viewport_size({"width": 1280, "height": 720})
    screenshot("admin-beat-schedule")
    assert csp_violations == []
