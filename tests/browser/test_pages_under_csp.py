"""The pages work in a real browser under the Content-Security-Policy: the sandbox checkout,
the admin and Swagger UI, with no resource or script refused by the policy."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from payments import links
from payments.models import NotificationOutcome, OrderStatus, PaymentNotification, VipOrder
from users.models import MembershipSnapshot
from vipplatform.jobs import jobs

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
    path = links.with_token(f"/pay/{order.order_number}/", order.order_number)
    response = page.goto(f"{live_server.url}{path}")
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
    expect(rows).to_have_count(len(jobs()))
    for name in jobs():
        expect(page.locator("#result_list")).to_contain_text(name)
    expect(rows.filter(has_text="关闭到期会员")).to_contain_text("每分钟")
    expect(rows.filter(has_text="订单日汇总：全部重算")).to_contain_text("每天")
    page.set_viewport_size({"width": 1280, "height": 720})
    screenshot("admin-beat-schedule")
    assert csp_violations == []


def test_the_staff_overview_draws_its_charts(page, live_server, csp_violations, screenshot):
    StaffFactory(username="boss", is_superuser=True)
    plans = {pk: VipPlanFactory(id=pk) for pk in (1, 2, 3)}
    when = timezone.now()
    for day in range(12):
        for n in range(day % 4 + 1):
            VipOrderFactory(
                plan=plans[1 + n % 3],
                status=OrderStatus.PAID if n % 3 else OrderStatus.PENDING,
                payment_method=n % 2,
                create_time=when - timedelta(days=day),
                pay_time=when - timedelta(days=day),
            )
        MembershipSnapshot.objects.create(
            day=timezone.localdate() - timedelta(days=day + 1), active_members=120 - 3 * day
        )
        for _ in range(day % 3):
            PaymentNotification.objects.create(
                provider="wechat", outcome=NotificationOutcome.REFUSED, detail="签名无效",
                remote_addr="203.0.113.7", received_at=when - timedelta(days=day),
            )  # fmt: skip
    VipOrderFactory(
        status=OrderStatus.PAID, pay_time=when, grant_failed_at=when,
        grant_error="RuntimeError: user service down",
    )  # fmt: skip
    page.goto(f"{live_server.url}/admin/login/?next=/admin/overview/")
    page.get_by_label("用户名").fill("boss")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("登录")).click()
    expect(page).to_have_url(re.compile(r"/admin/overview/$"))
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('chart-refused'))"
    )
    for chart in ("chart-sales", "chart-conversion", "chart-members", "chart-refused"):
        drawn = page.evaluate(
            "(id) => { const chart = Chart.getChart(document.getElementById(id));"
            " return chart ? chart.data.datasets.length : 0; }",
            chart,
        )
        assert drawn >= 1, chart
    # Something was painted: the sales chart's canvas is not blank.
    painted = page.evaluate(
        "() => { const c = document.getElementById('chart-sales');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " return d.some((v, i) => i % 4 === 3 && v > 0); }"
    )
    assert painted
    page.set_viewport_size({"width": 1280, "height": 900})
    page.wait_for_timeout(300)  # the charts follow the new width
    screenshot("admin-overview")
    assert csp_violations == []
