"""The background work as Celery tasks, in eager mode (no broker): the beat schedule, the
periodic jobs, reconciliation's retries, and a failed grant's retries with back-off.
`test_celery_worker.py` runs tasks on a real worker."""

import logging
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from rest_framework.test import APIClient

from config import celery_app
from payments import services, tasks
from payments.exceptions import GatewayUnavailable
from payments.gateways import PaymentReport
from payments.gateways.sandbox import SandboxProvider
from payments.models import GatewayResult, OrderStatus, VipOrder
from users.models import VipLedgerEntry
from users.tasks import expire_vips
from vipplatform.jobs import install_schedules, jobs

from .factories import UserFactory, VipOrderFactory
from .helpers import post_callback

pytestmark = pytest.mark.django_db


def seconds(interval: IntervalSchedule) -> int:
    return (
        interval.every
        * {
            IntervalSchedule.DAYS: 86400,
            IntervalSchedule.HOURS: 3600,
            IntervalSchedule.MINUTES: 60,
            IntervalSchedule.SECONDS: 1,
        }[interval.period]
    )


class TestBeatSchedule:
    def test_migrate_installs_every_job_with_its_interval(self):
        PeriodicTask.objects.all().delete()
        call_command("migrate", verbosity=0)
        installed = {
            task.name: (task.task, seconds(task.interval), task.enabled)
            for task in PeriodicTask.objects.select_related("interval")
        }
        assert installed == {
            name: (job.task, job.every_seconds, True) for name, job in jobs().items()
        }
        # in the unit the admin shows best: 每天, not 每86400秒
        daily = PeriodicTask.objects.get(task="payments.tasks.prune_notifications").interval
        assert (daily.every, daily.period) == (1, IntervalSchedule.DAYS)

    def test_an_interval_staff_left_moves_to_its_unit_and_celerys_cleanup_goes(self):
        task = PeriodicTask.objects.get(task="payments.tasks.retry_vip_grants")
        task.interval = IntervalSchedule.objects.create(every=3600, period=IntervalSchedule.SECONDS)
        task.description = "old words"
        task.save()
        PeriodicTask.objects.create(
            name="celery.backend_cleanup", task="celery.backend_cleanup", interval=task.interval
        )
        install_schedules()
        task.refresh_from_db()
        assert (task.interval.every, task.interval.period) == (1, IntervalSchedule.HOURS)
        assert task.description == jobs()["重试失败的VIP开通"].description
        assert not PeriodicTask.objects.filter(name="celery.backend_cleanup").exists()

    def test_each_job_names_a_registered_task(self):
        celery_app.loader.import_default_modules()  # what a worker does at start
        assert {job.task for job in jobs().values()} <= set(celery_app.tasks)

    def test_the_memberships_expire_every_minute(self):
        # The site's other services read only `is_vip` (docs/takeover.md).
        assert seconds(PeriodicTask.objects.get(task="users.tasks.expire_vips").interval) == 60

    def test_staff_changes_survive_the_next_migrate(self):
        task = PeriodicTask.objects.get(task="payments.tasks.reconcile_payments")
        task.interval = IntervalSchedule.objects.create(every=900, period=IntervalSchedule.SECONDS)
        task.enabled = False
        task.save()
        install_schedules()
        task.refresh_from_db()
        assert (task.interval.every, task.enabled) == (900, False)

    def test_the_schedule_form_names_each_task_as_staff_know_it(self, admin_client):
        page = admin_client.get("/admin/django_celery_beat/periodictask/add/").content.decode()
        named = {
            "payments.tasks.reconcile_payments": "对账：向支付网关查询未支付订单",  # a job's
            "users.tasks.send_member_email": "发送一封会员邮件",  # its own label
            "payments.tasks.close_order_at_provider": "在支付网关关闭一个订单",
        }
        for task, label in named.items():
            assert f'<option value="{task}">{label}（{task}）</option>' in page

    def test_a_deleted_job_comes_back_with_migrate(self):
        PeriodicTask.objects.filter(task="users.tasks.expire_vips").delete()
        call_command("migrate", verbosity=0)
        assert PeriodicTask.objects.filter(task="users.tasks.expire_vips").count() == 1


def test_the_periodic_jobs_do_their_work_as_tasks(plans, user):
    created = timezone.now() - timedelta(hours=1)
    overdue = VipOrderFactory(user=user, create_time=created, expire_time=created)
    lapsed = UserFactory(is_vip=True, vip_expire_time=timezone.now() - timedelta(minutes=1))

    assert tasks.expire_orders.delay().get() == 1
    assert expire_vips.delay().get() == 1
    overdue.refresh_from_db()
    lapsed.refresh_from_db()
    assert (overdue.status, lapsed.is_vip) == (OrderStatus.EXPIRED, False)


class TestReconciliation:
    @pytest.fixture
    def old_orders(self, plans):
        orders = VipOrderFactory.create_batch(2)
        VipOrder.objects.update(create_time=timezone.now() - timedelta(minutes=10))
        return orders

    def test_each_order_is_asked_about_in_its_own_task(self, old_orders, monkeypatch):
        asked = []

        def query(self, order):
            asked.append(order.pk)
            return PaymentReport(GatewayResult.SUCCESS, order.amount, "T")

        monkeypatch.setattr(SandboxProvider, "query_payment", query)
        assert tasks.reconcile_payments.delay().get() == 2
        assert sorted(asked) == sorted(order.pk for order in old_orders)
        assert set(VipOrder.objects.values_list("status", flat=True)) == {OrderStatus.PAID}
        assert VipLedgerEntry.objects.count() == 2

    def test_a_gateway_that_does_not_answer_is_asked_again(
        self, old_orders, monkeypatch, eager_retries
    ):
        answers = iter([GatewayUnavailable(), GatewayUnavailable(), None])

        def query(self, order):
            answer = next(answers)
            if isinstance(answer, Exception):
                raise answer
            return PaymentReport(GatewayResult.SUCCESS, order.amount, "T")

        monkeypatch.setattr(SandboxProvider, "query_payment", query)
        result = tasks.reconcile_order.apply(args=[old_orders[0].pk])
        assert result.get() == "paid"
        assert VipOrder.objects.get(pk=old_orders[0].pk).status == OrderStatus.PAID

    def test_a_gateway_that_never_answers_leaves_the_order_as_it_was(
        self, old_orders, monkeypatch, eager_retries
    ):
        calls = []

        def query(self, order):
            calls.append(order.pk)
            raise GatewayUnavailable()

        monkeypatch.setattr(SandboxProvider, "query_payment", query)
        result = tasks.reconcile_order.apply(args=[old_orders[0].pk])
        assert result.failed()
        assert len(calls) == 1 + tasks.reconcile_order.max_retries
        assert VipOrder.objects.get(pk=old_orders[0].pk).status == OrderStatus.PENDING


def failing_grants(monkeypatch, count: int) -> list[int]:
    """The next `count` grants fail; answers the list of attempts made."""
    from users import receivers

    real, attempts = receivers.vip_extend, []

    def grant(**kwargs):
        attempts.append(kwargs["order_id"])
        if len(attempts) <= count:
            raise RuntimeError("user service down")
        return real(**kwargs)

    monkeypatch.setattr(receivers, "vip_extend", grant)
    return attempts


def paid_with_failed_grant(monkeypatch, failures: int) -> tuple[VipOrder, list[int]]:
    order = VipOrderFactory()
    attempts = failing_grants(monkeypatch, failures)
    post_callback(APIClient(), {"orderId": order.order_number, "status": "SUCCESS"})
    order.refresh_from_db()
    assert (order.status, order.grant_failed_at is not None) == (OrderStatus.PAID, True)
    return order, attempts


class TestGrantRetries:
    def test_the_delay_doubles_from_the_base_up_to_the_cap(self, settings):
        settings.VIP_GRANT_RETRY_BASE_SECONDS, settings.VIP_GRANT_RETRY_MAX_SECONDS = 60, 3600
        delays = [services.grant_retry_delay(n) for n in range(9)]
        assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]

    def test_a_failed_grant_starts_its_retries_after_the_payment_commits(
        self, plans, monkeypatch, django_capture_on_commit_callbacks
    ):
        sent = []
        monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
        monkeypatch.setattr(
            tasks.retry_vip_grant, "apply_async", lambda *a, **kw: sent.append((a, kw))
        )
        with django_capture_on_commit_callbacks(execute=True):
            order, _ = paid_with_failed_grant(monkeypatch, failures=1)
        assert sent == [(((order.pk,), {}), {"countdown": 60})]

    def test_eager_mode_leaves_the_retry_to_the_sweep(
        self, plans, monkeypatch, django_capture_on_commit_callbacks, caplog
    ):
        with (
            caplog.at_level(logging.INFO, logger="config.celery"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            order, attempts = paid_with_failed_grant(monkeypatch, failures=1)
        assert "payments.tasks.retry_vip_grant sent for later is left to the periodic jobs" in (
            caplog.text
        )
        # The retry sent for a minute later did not run inside the payment's request.
        assert attempts == [order.pk]
        order.refresh_from_db()
        assert order.grant_failed_at is not None

    def test_retried_further_apart_each_time_until_it_succeeds_once(
        self, plans, monkeypatch, caplog, eager_retries
    ):
        order, attempts = paid_with_failed_grant(monkeypatch, failures=4)
        with caplog.at_level(logging.WARNING, logger="payments.tasks"):
            assert tasks.retry_vip_grant.apply(args=[order.pk]).get() is True
        waits = [
            record.getMessage().rsplit("next in ", 1)[1]
            for record in caplog.records
            if "still failing" in record.getMessage()
        ]
        assert waits == ["120s", "240s", "480s"]  # after the first 60 s, doubling
        assert len(attempts) == 5
        order.refresh_from_db()
        assert (order.grant_failed_at, order.grant_error) == (None, "")
        assert VipLedgerEntry.objects.filter(order=order).count() == 1

        # Another retry (a duplicate message, the sweep) grants nothing more.
        assert tasks.retry_vip_grant.apply(args=[order.pk]).get() is True
        assert tasks.retry_vip_grants.delay().get() == (0, 0)
        assert VipLedgerEntry.objects.filter(order=order).count() == 1
        assert len(attempts) == 5

    def test_gives_up_after_the_attempts_and_leaves_it_to_the_sweep(
        self, plans, monkeypatch, settings, caplog, eager_retries
    ):
        settings.VIP_GRANT_RETRY_ATTEMPTS = 3
        order, attempts = paid_with_failed_grant(monkeypatch, failures=100)
        assert tasks.retry_vip_grant.apply(args=[order.pk]).get() is False
        assert len(attempts) == 1 + 3
        assert "still failing after 3 tries" in caplog.text
        order.refresh_from_db()
        assert order.grant_error == "RuntimeError: user service down"
        assert not VipLedgerEntry.objects.exists()


def test_in_eager_mode_a_failing_task_is_tried_once_in_the_senders_request(
    api, user, plans, providers, monkeypatch, django_capture_on_commit_callbacks
):
    """No broker: the provider's close runs inside the cancel request, and a provider that
    does not answer is not asked again and again while the buyer waits."""
    from payments.gateways.wechat import WeChatPayProvider

    created = api.post(
        "/api/payment/generate-qrcode",
        {"userId": user.pk, "planId": 1, "amount": "29.90", "paymentMethod": 0},
        format="json",
    ).json()
    order = VipOrder.objects.get(order_number=created["orderId"])
    calls = []

    def close(self, order):
        calls.append(order.pk)
        raise GatewayUnavailable()

    monkeypatch.setattr(WeChatPayProvider, "close_payment", close)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.put(f"/api/payment/orders/{order.pk}/cancel")
    assert response.status_code == 200
    assert calls == [order.pk]
