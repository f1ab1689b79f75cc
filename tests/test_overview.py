"""The staff overview in the admin: the last 30 days in charts, from aggregate queries whose
number does not grow with the data."""

from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from payments.models import NotificationOutcome, OrderStatus, PaymentMethod, PaymentNotification
from users.models import MembershipSnapshot
from users.tasks import record_active_members

from .factories import StaffFactory, UserFactory, VipOrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss():
    client = Client()
    client.force_login(StaffFactory(is_superuser=True))
    return client


def orders(count: int, plans, *, days_ago: int = 1):
    when = timezone.now() - timedelta(days=days_ago)
    for n in range(count):
        VipOrderFactory(
            plan=plans[1 + n % 3],
            payment_method=PaymentMethod.WECHAT if n % 2 else PaymentMethod.ALIPAY,
            status=OrderStatus.PAID if n % 4 else OrderStatus.PENDING,
            create_time=when,
            pay_time=when if n % 4 else None,
        )


def test_the_overview_adds_up_the_last_30_days(boss, plans):
    orders(8, plans)
    orders(4, plans, days_ago=40)  # outside the window
    now = timezone.now()
    VipOrderFactory(
        status=OrderStatus.PAID,
        pay_time=now,
        grant_failed_at=now,
        grant_error="RuntimeError: user service down",
    )
    PaymentNotification.objects.create(
        provider="wechat", outcome=NotificationOutcome.REFUSED, detail="时间戳已过期"
    )
    UserFactory(is_vip=True, vip_expire_time=timezone.now() + timedelta(days=3))

    response = boss.get("/admin/overview/")
    assert response.status_code == HTTPStatus.OK
    charts = response.context["charts"]
    assert len(charts["days"]) == 30
    # 6 of the 8 recent orders paid (every 4th pending): 2 x 29.90 + 2 x 88.00 + 2 x 328.00,
    # plus the failed grant's order today (29.90).
    assert sum(Decimal(v) for v in charts["sales"]) == Decimal("921.70")
    assert sum(charts["paidOrders"]) == 7
    conversion = {row["method"]: (row["created"], row["paid"]) for row in charts["conversion"]}
    assert conversion == {"微信支付": (5, 5), "支付宝": (4, 2)}
    assert charts["members"][-1] == 1
    assert sum(charts["refused"]) == 1
    page = response.content.decode()
    assert "RuntimeError: user service down" in page
    assert "时间戳已过期" in page
    assert 'id="overview-data"' in page


def test_its_queries_do_not_grow_with_the_data(boss, plans, django_assert_max_num_queries):
    orders(3, plans)
    with django_assert_max_num_queries(20) as few:
        boss.get("/admin/overview/")
    orders(60, plans)
    for days_ago in range(20):
        MembershipSnapshot.objects.create(
            day=timezone.localdate() - timedelta(days=days_ago + 1), active_members=days_ago
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        boss.get("/admin/overview/")


def test_members_over_time_come_from_the_daily_count(boss):
    UserFactory.create_batch(2, is_vip=True, vip_expire_time=timezone.now() + timedelta(days=1))
    assert record_active_members.delay().get() == 2
    MembershipSnapshot.objects.create(
        day=timezone.localdate() - timedelta(days=2), active_members=5
    )
    members = boss.get("/admin/overview/").context["charts"]["members"]
    assert members[-3:] == [5, None, 2]


def test_only_staff_who_may_see_orders_open_it(plans):
    assert Client().get("/admin/overview/").status_code == HTTPStatus.FOUND  # to the login
    clerk = StaffFactory(rights=())
    client = Client()
    client.force_login(clerk)
    assert client.get("/admin/overview/").status_code == HTTPStatus.FORBIDDEN
    clerk.user_permissions.add(Permission.objects.get(codename="view_viporder"))
    assert client.get("/admin/overview/").status_code == HTTPStatus.OK


def test_the_admin_index_links_to_it(boss):
    assert 'href="/admin/overview/"' in boss.get("/admin/").content.decode()


def test_it_shows_the_workers_broker_and_cache(boss, settings, own_redis):
    from vipplatform.models import JobRun

    page = boss.get("/admin/overview/").content.decode()
    assert "还没有任务成功过" in page
    assert "未配置（任务在进程内立即执行）" in page and "未配置（各进程内存）" in page
    JobRun.objects.create(task="users.tasks.expire_vips", last_success_at=timezone.now(), runs=1)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    page = boss.get("/admin/overview/").content.decode()
    assert "最近一次成功于" in page and "超过5分钟没有任务成功" not in page
    assert "消息队列：<strong>无法连接</strong>" in page
    settings.CELERY_BROKER_URL = own_redis.url(3)
    assert "消息队列：<strong>正常</strong>" in boss.get("/admin/overview/").content.decode()


def test_refunds_and_payments_after_close_show(boss, plans):
    now = timezone.now()
    VipOrderFactory(plan=plans[2], status=OrderStatus.PAID, pay_time=now, refunded_amount=22)
    VipOrderFactory(plan=plans[1], status=OrderStatus.PAID, pay_time=now, paid_after_close=True)
    response = boss.get("/admin/overview/")
    charts = response.context["charts"]
    assert (charts["sales"][-1], charts["refunded"][-1]) == ("117.90", "22.00")
    assert response.context["total_refunded"] == Decimal("22.00")
    page = response.content.decode()
    assert 'id="total-refunded">¥22.00<' in page
    assert "订单取消或过期后才收到付款的订单 <strong>1</strong> 笔" in page
    assert "?money=paid_after_close" in page
