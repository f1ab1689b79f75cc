"""The server-rendered pages through Django's test client: login, sign-up, the VIP page, the
sandbox checkout and its buttons."""

import threading
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from payments import links
from payments.gateways.sandbox import deliver
from payments.models import OrderStatus, SandboxPayment
from users.models import User

from ..factories import PASSWORD, UserFactory, VipOrderFactory
from ..helpers import requires_mariadb

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_vip_page_needs_a_login_and_comes_back_after_it(user, plans):
    anonymous = Client()
    response = anonymous.get("/vip/")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/accounts/login/?next=/vip/"
    login_page = anonymous.get(response["Location"]).content.decode()
    assert 'href="/accounts/register/"' in login_page
    logged_in = anonymous.post(
        "/accounts/login/", {"username": user.username, "password": PASSWORD, "next": "/vip/"}
    )
    assert logged_in["Location"] == "/vip/"
    assert anonymous.get("/vip/").status_code == HTTPStatus.OK


def test_a_wrong_password_shows_an_error(user):
    page = Client().post("/accounts/login/", {"username": user.username, "password": "nope"})
    assert "用户名或密码错误" in page.content.decode()


def test_signing_up_logs_in_and_lands_on_the_vip_page(plans):
    client = Client()
    response = client.post(
        "/accounts/register/",
        {
            "username": "newbie",
            "email": "n@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response["Location"] == "/vip/"
    assert User.objects.get(username="newbie").check_password(PASSWORD)
    assert client.get("/vip/").status_code == HTTPStatus.OK


def test_signing_up_with_a_taken_name_shows_the_error(user):
    page = Client().post(
        "/accounts/register/",
        {
            "username": user.username,
            "email": "x@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert page.status_code == HTTPStatus.OK
    assert "field-error" in page.content.decode()


def test_a_non_member_sees_the_plans_with_their_savings(browser, plans):
    page = browser.get("/vip/").content.decode()
    assert "你还不是会员" in page
    for name, price in [("月度会员", "29.90"), ("季度会员", "88.00"), ("年度会员", "328.00")]:
        assert name in page
        assert f"¥{price}" in page
    assert "比按月买省 ¥1.70" in page  # 3 * 29.90 - 88.00
    assert "比按月买省 ¥35.78" in page  # 29.90 * 365 / 30 - 328.00
    for method in ("微信支付", "支付宝", "银行卡"):
        assert method in page


def test_a_member_sees_the_expiry_in_the_site_time_zone(browser, user):
    # 2099-01-01 00:00 UTC is 08:00 in Asia/Shanghai.
    User.objects.filter(pk=user.pk).update(
        is_vip=True, vip_expire_time=datetime(2099, 1, 1, tzinfo=UTC)
    )
    page = browser.get("/vip/").content.decode()
    assert "会员有效期至 <strong>2099-01-01 08:00</strong>" in page


def test_a_lapsed_member_sees_when_it_ended(browser, user):
    ended = timezone.now() - timedelta(days=2)
    User.objects.filter(pk=user.pk).update(is_vip=True, vip_expire_time=ended)
    page = browser.get("/vip/").content.decode()
    assert f"会员已于 {timezone.localtime(ended):%Y-%m-%d %H:%M} 到期" in page


def test_the_five_most_recent_orders_are_listed_with_status_names(browser, user, plans):
    orders = [
        VipOrderFactory(user=user, create_time=timezone.now() - timedelta(minutes=i))
        for i in range(7)
    ]
    VipOrderFactory(
        user=user, status=OrderStatus.PAID, create_time=timezone.now() + timedelta(seconds=1)
    )
    page = browser.get("/vip/").content.decode()
    assert "已支付" in page
    shown = [o.order_number for o in orders if o.order_number in page]
    assert shown == [o.order_number for o in orders[:4]]


def test_sandbox_buttons_only_in_sandbox_mode(browser, plans, settings):
    assert "模拟支付成功" in browser.get("/vip/").content.decode()
    settings.PAYMENT_SANDBOX = False
    page = browser.get("/vip/").content.decode()
    assert "模拟支付成功" not in page
    assert "模拟支付失败" not in page


def test_no_secret_reaches_the_browser(browser, plans, settings):
    settings.PAYMENT_CALLBACK_SECRET = "never-shown-secret"
    assert "never-shown-secret" not in browser.get("/vip/").content.decode()


def test_the_page_costs_a_fixed_number_of_queries(browser, user, plans, django_assert_num_queries):
    VipOrderFactory.create_batch(3, user=user)
    # session, user, plans, the 连续包月 plans (the sandbox signs agreements), the member's
    # agreement, recent orders with plans
    with django_assert_num_queries(6) as few:
        browser.get("/vip/")
    VipOrderFactory.create_batch(10, user=user)
    with django_assert_num_queries(len(few.captured_queries)):
        browser.get("/vip/")


def checkout_path(order) -> str:
    """The path the order's QR code opens (with its token)."""
    return links.with_token(f"/pay/{order.order_number}/", order.order_number)


def simulate_path(order) -> str:
    return links.with_token(f"/pay/{order.order_number}/simulate", order.order_number)


def test_the_sandbox_checkout_shows_the_amount(plans):
    order = VipOrderFactory()
    response = Client().get(checkout_path(order))
    page = response.content.decode()
    assert "¥29.90" in page
    assert "模拟支付成功" in page
    assert simulate_path(order).replace("&", "&amp;") in page or simulate_path(order) in page
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_knowing_an_order_number_is_not_enough_to_pay_or_fail_it(plans, user, client_for):
    """The probe: `GET /pay/<order>/` for a CSRF token, then `POST /pay/<order>/simulate`
    paid or failed other users' orders."""
    order = VipOrderFactory(user=user)
    stranger = Client()
    assert stranger.get(f"/pay/{order.order_number}/").status_code == HTTPStatus.NOT_FOUND
    wrong = f"/pay/{order.order_number}/?t={'0' * 32}"
    assert stranger.get(wrong).status_code == HTTPStatus.NOT_FOUND
    for path in (f"/pay/{order.order_number}/simulate", wrong.replace("/?", "/simulate?")):
        answer = stranger.post(path, {"status": "FAILED"}, content_type="application/json")
        assert answer.status_code == HTTPStatus.NOT_FOUND
        assert answer.json()["error"] == "订单不存在"
    # Another logged-in member is a stranger too.
    other = client_for(UserFactory())
    assert (
        other.post(
            f"/pay/{order.order_number}/simulate", {"status": "FAILED"}, format="json"
        ).status_code
        == HTTPStatus.NOT_FOUND
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert not SandboxPayment.objects.exists()
    # The QR code image needs the token too (it holds the link).
    image = f"/api/payment/qrcode/{order.order_number}.svg"
    assert APIClient().get(image).status_code == HTTPStatus.NOT_FOUND
    assert APIClient().get(links.with_token(image, order.order_number)).status_code == 200
    # The buyer's own VIP page presses the same buttons without the token.
    own = client_for(user).post(
        f"/pay/{order.order_number}/simulate", {"status": "FAILED"}, format="json"
    )
    assert own.json() == {"orderId": order.order_number, "status": "FAILED"}


def test_the_vip_page_is_never_cached(api, plans):
    control = api.get("/vip/")["Cache-Control"]
    assert "private" in control and "no-store" in control


def test_the_sandbox_checkout_and_buttons_are_404_in_signed_mode(plans, signed):
    order = VipOrderFactory()
    client = Client()
    assert client.get(checkout_path(order)).status_code == HTTPStatus.NOT_FOUND
    response = client.post(
        simulate_path(order),
        {"status": "SUCCESS"},
        content_type="application/json",
    )
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert not SandboxPayment.objects.exists()


def test_the_sandbox_buttons_need_the_csrf_token(plans):
    order = VipOrderFactory()
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        simulate_path(order),
        {"status": "SUCCESS"},
        content_type="application/json",
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    token = client.get(checkout_path(order)).cookies["XSRF-TOKEN"].value
    response = client.post(
        simulate_path(order),
        {"status": "SUCCESS"},
        content_type="application/json",
        headers={"X-XSRF-TOKEN": token},
    )
    assert response.status_code == HTTPStatus.OK


def test_pressing_pay_books_the_payment_and_delivers_it_after_commit(
    plans, django_capture_on_commit_callbacks, monkeypatch
):
    order = VipOrderFactory()
    delivered = []
    monkeypatch.setattr(
        "payments.gateways.sandbox._deliver_in_background",
        lambda pk, url: delivered.append((pk, url)),
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            simulate_path(order),
            {"status": "SUCCESS"},
            content_type="application/json",
        )
    assert response.json() == {"orderId": order.order_number, "status": "SUCCESS"}
    payment = SandboxPayment.objects.get()
    assert (payment.amount, payment.result) == (order.amount, "SUCCESS")
    assert delivered == [(payment.pk, "http://testserver/api/payment/callback")]


def test_a_closed_order_cannot_be_paid_in_the_sandbox(plans):
    order = VipOrderFactory(status=OrderStatus.CANCELLED)
    response = Client().post(
        simulate_path(order),
        {"status": "SUCCESS"},
        content_type="application/json",
    )
    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["error"] == "订单已关闭，无法支付"


@pytest.mark.parametrize("body", [b"", b"[]", b'{"status": "MAYBE"}', b"{oops"])
def test_bad_sandbox_presses_are_400(plans, body):
    order = VipOrderFactory()
    response = Client().post(simulate_path(order), body, content_type="application/json")
    assert response.status_code == HTTPStatus.BAD_REQUEST


@requires_mariadb
@pytest.mark.django_db(transaction=True)
def test_delivery_gives_up_after_its_attempts_and_records_why(plans):
    order = VipOrderFactory()
    payment = SandboxPayment.objects.create(
        order_number=order.order_number, result="SUCCESS", amount=order.amount, transaction_id="T1"
    )
    results = []
    # In a thread of its own, as in production: it closes its connections when done.
    worker = threading.Thread(
        target=lambda: results.append(
            deliver(payment.pk, "http://127.0.0.1:9/nothing-listens", delays=(0, 0))
        )
    )
    worker.start()
    worker.join()
    assert results == [False]
    payment.refresh_from_db()
    assert payment.delivery_attempts == 2
    assert payment.delivered_at is None
    assert "refused" in payment.last_delivery_error.lower()
