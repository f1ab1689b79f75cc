"""An order's story and a member's page in the admin, and the links between the records."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone

from payments import services
from payments.models import NotificationOutcome, OrderStatus, PaymentNotification
from tests.factories import UserFactory, VipOrderFactory
from users.models import MemberEmail, MemberEmailKind, VipLedgerEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(plans, django_capture_on_commit_callbacks):
    """An order paid through its notification: the grant, the ledger row and the receipt."""
    order = VipOrderFactory(
        user=UserFactory(username="story", email="story@example.com"),
        plan=plans[1],
        create_time=timezone.now() - timedelta(minutes=5),
    )
    PaymentNotification.objects.create(
        provider="wechat",
        order_number=order.order_number,
        outcome=NotificationOutcome.REFUSED,
        detail="签名无效",
        received_at=timezone.now() - timedelta(minutes=3),
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.order_mark_paid(order_number=order.order_number, transaction_id="4200000042")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    return order


def test_an_orders_page_tells_its_story_in_time_order(admin_client, paid):
    page = admin_client.get(f"/admin/payments/viporder/{paid.pk}/change/").content.decode()
    story = page[page.index('id="order-story"') :]
    steps = ["创建订单", "支付通知：已拒绝", "已支付", "VIP变更：购买", "邮件：支付成功"]
    positions = [story.index(step) for step in steps]
    assert positions == sorted(positions), steps
    assert "4200000042" in story and "微信支付" in story and "签名无效" in story
    entry = VipLedgerEntry.objects.get(order=paid)
    email = MemberEmail.objects.get(reference=paid.order_number)
    notification = PaymentNotification.objects.get(order_number=paid.order_number)
    for url in [
        f"/admin/users/vipledgerentry/{entry.pk}/change/",
        f"/admin/users/memberemail/{email.pk}/change/",
        f"/admin/payments/paymentnotification/{notification.pk}/change/",
        f"/admin/users/user/{paid.user_id}/change/",
    ]:
        assert url in page
        assert admin_client.get(url).status_code == HTTPStatus.OK, url


def test_a_members_page_lists_their_orders_and_emails(admin_client, paid, plans):
    other = VipOrderFactory(user=paid.user, plan=plans[1])
    stranger = VipOrderFactory(plan=plans[1])
    page = admin_client.get(f"/admin/users/user/{paid.user_id}/change/").content.decode()
    orders = page[page.index('id="member-orders"') : page.index('id="member-emails"')]
    assert orders.index(other.order_number) < orders.index(paid.order_number)  # newest first
    assert stranger.order_number not in orders
    assert f"/admin/payments/viporder/{paid.pk}/change/" in orders
    emails = page[page.index('id="member-emails"') :]
    assert "story@example.com" in emails and "支付成功" in emails
    # "all of them" links open the lists filtered to this member
    listed = admin_client.get(
        "/admin/payments/viporder/", {"user__id__exact": paid.user_id}
    ).content.decode()
    assert paid.order_number in listed and stranger.order_number not in listed
    mails = admin_client.get(
        "/admin/users/memberemail/", {"user__id__exact": paid.user_id}
    ).content.decode()
    assert f"/admin/users/user/{paid.user_id}/change/" in mails  # the email links its member
    assert f"q={paid.order_number}" in mails  # and the order its receipt is for


def test_the_users_search_finds_the_exact_user_alone(admin_client, plans):
    exact = UserFactory(username="zhang")
    for n in range(10):
        UserFactory(username=f"zhang{n}")
    page = admin_client.get("/admin/users/user/", {"q": "zhang"}).content.decode()
    assert f"/admin/users/user/{exact.pk}/change/" in page
    assert "zhang1" not in page
    starting = admin_client.get("/admin/users/user/", {"q": "zhang1"}).content.decode()
    assert "zhang1" in starting
    phone = UserFactory(phone="13911112222")
    by_phone = admin_client.get("/admin/users/user/", {"q": "13911112222"}).content.decode()
    assert f"/admin/users/user/{phone.pk}/change/" in by_phone


def test_an_orders_page_costs_the_same_queries_however_long_its_story(
    admin_client, paid, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = f"/admin/payments/viporder/{paid.pk}/change/"
    admin_client.get(url)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(url)
    for n in range(20):
        PaymentNotification.objects.create(
            order_number=paid.order_number, provider="alipay", outcome=NotificationOutcome.DUPLICATE
        )
        MemberEmail.objects.create(
            user=paid.user, kind=MemberEmailKind.REMINDER, reference=f"r{n}", to="x@example.com"
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert admin_client.get(url).status_code == HTTPStatus.OK


def test_deleting_a_user_with_orders_says_why_not_and_what_to_do(admin_client, plans):
    buyer = VipOrderFactory(plan=plans[1]).user
    page = admin_client.get(f"/admin/users/user/{buyer.pk}/delete/").content.decode()
    assert "有 1 个订单" in page and "禁用所选账户" in page
    assert "无权删除" not in page
    bulk = admin_client.post(
        "/admin/users/user/", {"action": "delete_selected", "_selected_action": [buyer.pk]}
    ).content.decode()
    assert "有 1 个订单" in bulk
    assert admin_client.post(f"/admin/users/user/{buyer.pk}/delete/", {"post": "yes"}).status_code
    assert type(buyer).objects.filter(pk=buyer.pk).exists()
    # a user without orders is deleted
    plain = UserFactory()
    answer = admin_client.post(f"/admin/users/user/{plain.pk}/delete/", {"post": "yes"})
    assert answer.status_code == HTTPStatus.FOUND
    assert not type(plain).objects.filter(pk=plain.pk).exists()


def test_a_count_that_stopped_at_the_cap_says_so(admin_client, plans, monkeypatch):
    from vipplatform.admin_lists import CappedCountPaginator

    monkeypatch.setattr(CappedCountPaginator, "CAP", 5)
    VipOrderFactory.create_batch(7, plan=plans[1])
    page = admin_client.get("/admin/payments/viporder/").content.decode()
    assert "5+ VIP订单" in page
    searched = admin_client.get("/admin/payments/viporder/", {"q": "2"}).content.decode()
    assert "5+ 条结果" in searched
    few = admin_client.get("/admin/payments/viporder/", {"status": "1"}).content.decode()
    assert "0 VIP订单" in few
