"""`/metrics` for Prometheus: who may scrape it, what it counts after purchases, refusals and a
failed grant, the gauges read from the database, and the sums across gunicorn's workers."""

import urllib.request
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from payments import tasks
from payments.models import OrderStatus
from users.models import User

from .factories import UserFactory, VipOrderFactory
from .helpers import post_callback, requires_mariadb
from .servers import Gunicorn, env_on_test_database

pytestmark = pytest.mark.django_db


def scrape(client=None, **headers) -> dict[tuple, float]:
    """`{(sample name, sorted labels): value}` of one scrape."""
    response = (client or Client()).get("/metrics", headers=headers)
    assert response.status_code == HTTPStatus.OK, response.status_code
    return parse(response.content.decode())


def parse(text: str) -> dict[tuple, float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


class TestAccess:
    def test_anyone_else_gets_a_404(self, settings):
        settings.METRICS_ALLOWED_NETWORKS = []
        assert Client().get("/metrics").status_code == HTTPStatus.NOT_FOUND
        wrong = {"Authorization": "Bearer guess"}
        assert Client().get("/metrics", headers=wrong).status_code == HTTPStatus.NOT_FOUND

    @pytest.mark.parametrize(
        "forwarded",
        [
            {"X-Forwarded-For": "198.51.100.7"},
            {"X-Real-IP": "198.51.100.7"},  # the probe: nginx's proxy_set_header X-Real-IP
            {"Forwarded": "for=198.51.100.7;proto=https"},  # the probe: RFC 7239
        ],
    )
    def test_through_the_reverse_proxy_only_the_token_opens_it(self, settings, forwarded):
        # nginx on the same host connects from 127.0.0.1 for every client it forwards.
        settings.METRICS_TOKEN = "s3cret-scrape-token"
        assert Client().get("/metrics", headers=forwarded).status_code == HTTPStatus.NOT_FOUND
        samples = scrape(Authorization="Bearer s3cret-scrape-token", **forwarded)
        assert value(samples, "vip_database_up") == 1

    def test_the_token_opens_it_from_anywhere(self, settings):
        settings.METRICS_ALLOWED_NETWORKS, settings.METRICS_TOKEN = [], "s3cret-scrape-token"
        samples = scrape(Authorization="Bearer s3cret-scrape-token")
        assert value(samples, "vip_database_up") == 1

    def test_an_allowed_network_needs_no_token(self, settings):
        import ipaddress

        settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("127.0.0.0/8")]
        assert value(scrape(), "vip_database_up") == 1  # the test client is 127.0.0.1


def test_a_scrape_after_purchases_a_refusal_and_a_failed_grant(plans, monkeypatch, settings):
    before = scrape()
    buyer = UserFactory()
    api = APIClient()
    api.force_login(buyer)
    for plan_id, amount in ((1, "29.90"), (2, "88.00")):
        order = api.post(
            "/api/payment/generate-qrcode",
            {"userId": buyer.pk, "planId": plan_id, "amount": amount, "paymentMethod": 1},
            format="json",
        ).json()["orderId"]
        post_callback(APIClient(), {"orderId": order, "status": "SUCCESS"})
    failing = VipOrderFactory()
    with monkeypatch.context() as patched:
        patched.setattr("users.receivers.vip_extend", lambda **kwargs: 1 / 0)
        post_callback(APIClient(), {"orderId": failing.order_number, "status": "SUCCESS"})
    settings.PAYMENT_CALLBACK_SECRET, settings.PAYMENT_SANDBOX = "secret", False
    forged = post_callback(APIClient(), {"orderId": failing.order_number, "status": "SUCCESS"})
    assert forged.status_code == HTTPStatus.UNAUTHORIZED

    after = scrape()

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("vip_orders_created_total", plan="1", payment_method="1") == 1
    assert grew("vip_orders_created_total", plan="2", payment_method="1") == 1
    assert grew("vip_payments_total", provider="sandbox", via="notification") == 3
    assert grew("vip_notifications_total", provider="sandbox", outcome="paid", reason="") == 3
    assert (
        grew("vip_notifications_total", provider="contract", outcome="refused", reason="signature")
        == 1
    )
    assert grew("vip_grant_failures_total") == 1
    assert grew("vip_notification_to_grant_seconds_count", provider="sandbox") == 3
    assert value(after, "vip_grants_failing") == 1
    assert value(after, "vip_active_members") == 1  # the buyer; the failed grant's user is not
    assert value(after, "vip_database_up") == 1
    assert (
        grew(
            "django_http_responses_total_by_status_view_method_total",
            status="401",
            view="payments:callback",
            method="POST",
        )
        == 1
    )


def test_each_jobs_interval_last_success_and_duration(plans):
    tasks.expire_orders.delay()
    samples = scrape()
    task = "payments.tasks.expire_orders"
    # Labelled `task`: a scrape's own `job` label would rename a `job` to `exported_job`.
    assert value(samples, "vip_job_interval_seconds", task=task) == 60
    last = value(samples, "vip_job_last_success_timestamp_seconds", task=task)
    assert abs(last - timezone.now().timestamp()) < 30
    assert 0 <= value(samples, "vip_job_last_duration_seconds", task=task) < 5
    # A job that never ran has an interval and no success: the alert "never succeeded" sees it.
    assert value(samples, "vip_job_interval_seconds", task="users.tasks.expire_vips") == 60
    assert (
        "vip_job_last_success_timestamp_seconds",
        (("task", "users.tasks.expire_vips"),),
    ) not in samples
    assert not [name for name, labels in samples if "job" in dict(labels)]


def test_the_cache_broker_and_late_receipts_are_measured(plans, settings, own_redis, user):
    from users.models import VipChangeKind, VipLedgerEntry

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = own_redis.url(2)
    assert value(scrape(), "vip_broker_up") == 1
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    assert value(scrape(), "vip_broker_up") == 0
    settings.CELERY_TASK_ALWAYS_EAGER = True  # eager mode: no broker, no gauge
    assert ("vip_broker_up", ()) not in scrape()
    order = VipOrderFactory(user=user, status=OrderStatus.PAID)
    VipLedgerEntry.objects.create(
        user=user,
        kind=VipChangeKind.PURCHASE,
        order=order,
        reason="test",
        created_at=timezone.now() - timedelta(minutes=20),
    )
    assert value(scrape(), "vip_receipts_late") == 1


def test_the_database_gauges_cost_the_same_queries_however_many_rows(
    plans, django_assert_max_num_queries
):
    with django_assert_max_num_queries(7) as few:
        scrape()
    for _ in range(20):
        VipOrderFactory(status=OrderStatus.PAID, grant_failed_at=timezone.now())
    User.objects.update(is_vip=True, vip_expire_time=timezone.now() + timedelta(days=3))
    with django_assert_max_num_queries(len(few.captured_queries)):
        samples = scrape()
    assert value(samples, "vip_grants_failing") == 20
    assert value(samples, "vip_active_members") == 20


@requires_mariadb
@pytest.mark.django_db(transaction=True)
def test_gunicorn_workers_add_up_in_one_scrape(tmp_path):
    env = env_on_test_database(PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    server = Gunicorn(workers=3, env=env)
    try:
        for _ in range(60):
            urllib.request.urlopen(f"{server.url}/api/payment/plans", timeout=10).read()
        scrapes = []
        for _ in range(6):  # whichever worker answers, the same sums
            with urllib.request.urlopen(f"{server.url}/metrics", timeout=10) as response:
                scrapes.append(parse(response.read().decode()))
    finally:
        server.stop()
    counts = {
        value(samples, "django_http_responses_total_by_status_view_method_total",
              status="200", view="payments:plans", method="GET")
        for samples in scrapes
    }  # fmt: skip
    assert counts == {60}
    files = {path.name.split("_")[0] for path in (tmp_path / "metrics").glob("*.db")}
    assert "counter" in files
    pids = {path.stem.rsplit("_", 1)[-1] for path in (tmp_path / "metrics").glob("counter_*.db")}
    assert len(pids) >= 2, pids  # more than one worker wrote, and the scrape added them up
