"""The VIP purchase page in a real browser: log in, buy, scan, pay (or not), see the result.

The browser runs in New York time on purpose: dates must still show in the site's time zone.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from users.models import User

from ..factories import PASSWORD, UserFactory, VipPlanFactory
from ..helpers import requires_mariadb

pytestmark = [requires_mariadb, pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def buyer():
    for pk in (1, 2, 3):
        VipPlanFactory(id=pk)
    return UserFactory(username="moviefan")


def log_in(page, live_server, user):
    page.goto(f"{live_server.url}/vip/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/vip/$"))
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{live_server.url}/vip/")
    expect(page.locator("#vip-state")).to_contain_text("你还不是会员")


def buy_quarterly(page):
    page.locator("label.plan", has_text="季度会员").click()
    page.get_by_label("支付宝").check()
    page.get_by_role("button", name="立即开通").click()
    expect(page.locator("#checkout")).to_be_visible()
    page.wait_for_function(
        "() => { const img = document.getElementById('qr'); "
        "return img.complete && img.naturalWidth > 0; }"
    )
    expect(page.locator("#order-amount")).to_have_text("¥88.00")
    expect(page.locator("#countdown")).to_have_text(re.compile(r"^\d\d:\d\d$"))


def test_buying_the_quarterly_plan_and_paying_in_the_sandbox(page, live_server, buyer, screenshot):
    log_in(page, live_server, buyer)
    buy_quarterly(page)

    page.get_by_role("button", name="模拟支付成功").click()

    expect(page.locator("#pay-status")).to_have_text("支付成功！VIP权限已开通")
    buyer.refresh_from_db()
    assert buyer.vip_active()
    assert abs(buyer.vip_expire_time - (timezone.now() + timedelta(days=90))) < timedelta(minutes=1)
    expected = timezone.localtime(buyer.vip_expire_time).strftime("%Y-%m-%d %H:%M")
    expect(page.locator("#vip-state")).to_contain_text(f"会员有效期至 {expected}")
    expect(page.locator("#orders")).to_contain_text("已支付")
    expect(page.get_by_role("button", name="模拟支付成功")).to_be_hidden()
    screenshot("vip-paid")


def test_an_order_left_unpaid_past_its_deadline_expires(
    page, live_server, buyer, settings, screenshot
):
    settings.PAYMENT_DEADLINE = timedelta(seconds=4)
    log_in(page, live_server, buyer)
    buy_quarterly(page)

    expect(page.locator("#pay-status")).to_have_text("订单已过期，未完成支付。", timeout=15_000)
    expect(page.get_by_role("button", name="重新选择套餐")).to_be_visible()
    expect(page.locator("#orders")).to_contain_text("已过期")
    assert not User.objects.get(pk=buyer.pk).vip_active()
    screenshot("vip-expired")


@pytest.mark.parametrize(
    ("method", "scheme"), [("微信支付", "weixin://"), ("支付宝", "https://qr")]
)
def test_buying_with_a_real_provider_at_its_local_fake(
    page, live_server, buyer, settings, providers, screenshot, method, scheme
):
    """The QR image is the provider's code; paying at the fake (the buyer's phone) sends the
    provider's own signed notification to the platform, and the page sees the payment."""
    settings.PAYMENT_NOTIFY_BASE_URL = live_server.url
    log_in(page, live_server, buyer)
    page.locator("label.plan", has_text="季度会员").click()
    page.get_by_label(method).check()
    page.get_by_role("button", name="立即开通").click()
    expect(page.locator("#checkout")).to_be_visible()
    page.wait_for_function(
        "() => { const img = document.getElementById('qr'); "
        "return img.complete && img.naturalWidth > 0; }"
    )
    expect(page.get_by_role("button", name="模拟支付成功")).to_be_hidden()
    order_number = page.locator("#order-number").inner_text()
    trade = providers.trade(order_number)
    assert trade.code.startswith(scheme)
    expect(page.locator("#pay-status")).to_have_text("等待支付…")

    phone = page.context.new_page()
    phone.goto(providers.url)
    # The fakes live for the whole run: other tests' trades are listed too.
    row = phone.get_by_role("row").filter(has_text=order_number)
    row.get_by_role("button", name=f"用{method}支付 ¥88.00").click()
    expect(phone.get_by_role("row").filter(has_text=order_number)).to_contain_text("SUCCESS")
    phone.close()

    expect(page.locator("#pay-status")).to_have_text("支付成功！VIP权限已开通")
    assert trade.notified == [204 if method == "微信支付" else 200]
    buyer.refresh_from_db()
    assert buyer.vip_active()
    screenshot(f"vip-paid-{'wechat' if method == '微信支付' else 'alipay'}")


def test_renewal_terms_signing_and_the_cancel_button(page, live_server, buyer, screenshot):
    """连续包月 in the sandbox: the terms stand where the member decides; signing on the
    provider's page (a second tab standing for the phone) turns the page into the agreement,
    with its next charge and the cancel button, which ends it."""
    VipPlanFactory(id=4, name="连续包月", days=30, price=25, first_price=15, renews=True)
    log_in(page, live_server, buyer)
    terms = page.locator("label.plan", has_text="连续包月").locator("[data-terms]")
    expect(terms).to_be_visible()
    expect(terms).to_contain_text("今天扣款¥15.00")
    expect(terms).to_contain_text("之后每30天自动扣款¥25.00")
    expect(terms).to_contain_text("至少5天提醒")
    page.locator("#renew-form").get_by_label("支付宝").check()
    page.get_by_role("button", name="同意并开通自动续费").click()
    expect(page.locator("#signing")).to_be_visible()
    page.wait_for_function(
        "() => { const img = document.getElementById('sign-qr'); "
        "return img.complete && img.naturalWidth > 0; }"
    )
    screenshot("renewal-signing")
    number = page.locator("#signing").get_attribute("data-agreement")
    phone = page.context.new_page()
    phone.goto(f"{live_server.url}/pay/agreement/{number}/")
    phone.get_by_role("button", name="同意协议并开通").click()
    expect(phone.locator("#result")).to_contain_text("已开通自动扣费")

    expect(page.locator("#my-agreement")).to_be_visible(timeout=20_000)  # followed, reloaded
    expect(page.locator("#next-charge")).to_contain_text("¥25.00")
    expect(page.locator("#vip-state")).to_contain_text("会员有效期至")
    screenshot("renewal-active")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="取消自动续费").click()
    expect(page.get_by_role("button", name="同意并开通自动续费")).to_be_visible()
    expect(page.locator("#past-agreements")).to_contain_text("已解约")
    expect(page.locator("#vip-state")).to_contain_text("会员有效期至")  # the days paid stay
    buyer.refresh_from_db()
    assert buyer.agreements.get().state == "cancelled"
