"""What an outside probe found, each as the request that showed it (findings 1, 2 and 5, the
login and registration limits, are in test_throttling.py)."""

import json
import subprocess
import sys
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from payments import links, services
from payments.gateways import PaymentReport
from payments.gateways import contract as gateway
from payments.gateways.sandbox import SandboxProvider
from payments.models import (
    GatewayResult,
    NotificationOutcome,
    OrderStatus,
    PaymentNotification,
    VipOrder,
)
from payments.notifications import notifications_prune

from .factories import StaffFactory, VipOrderFactory
from .helpers import envelope_error, post_callback
from .test_production import ROOT, manage, production_env

pytestmark = pytest.mark.django_db

DEEP = b"[" * 1001 + b"]" * 1001


# 3. Anonymous requests made 500s.


@pytest.mark.parametrize(
    "path", ["/api/payment/callback", "/api/users/login", "/api/users/register"]
)
def test_json_nested_1001_deep_is_bad_input(path, plans):
    client = APIClient(raise_request_exception=False)
    response = client.post(path, data=DEEP, content_type="application/json")
    if path.startswith("/api/users/"):
        assert envelope_error(response)[0] == HTTPStatus.BAD_REQUEST
    else:
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert PaymentNotification.objects.get().outcome == NotificationOutcome.REFUSED


def test_a_timestamp_of_400_digits_is_a_refused_signature(signed, plans):
    order = VipOrderFactory()
    body = json.dumps({"orderId": order.order_number, "status": "SUCCESS"}).encode()
    response = APIClient(raise_request_exception=False).post(
        "/api/payment/callback",
        data=body,
        content_type="application/json",
        headers={gateway.TIMESTAMP_HEADER: "9" * 400, gateway.SIGNATURE_HEADER: "0" * 64},
    )
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["error"] == "回调时间戳无效"
    assert PaymentNotification.objects.get().outcome == NotificationOutcome.REFUSED


@pytest.mark.parametrize("page", ["99999999999999999999", str(2**63)])
def test_page_numbers_past_any_table_are_bad_input(api, user, staff_api, page):
    listed = api.get(f"/api/payment/users/{user.pk}/orders?page={page}")
    assert listed.status_code == HTTPStatus.BAD_REQUEST
    assert listed.json()["fields"] == {"page": "page不能大于10000000"}
    searched = staff_api.post("/api/payment/orders/search", {"page": int(page)}, format="json")
    assert searched.status_code == HTTPStatus.BAD_REQUEST
    assert envelope_error(staff_api.get(f"/api/users/list?page={page}"))[0] == 400


def test_ids_past_any_integer_column_are_not_found(api, staff_api):
    huge = "9" * 30
    assert staff_api.get(f"/api/payment/orders/{huge}").status_code == HTTPStatus.NOT_FOUND
    assert envelope_error(staff_api.get(f"/api/users/{huge}"))[0] == HTTPStatus.NOT_FOUND


# 4. Anyone could fill the database through the callback.


def test_junk_bodies_are_refused_without_being_stored_whole(signed):
    junk = b'{"orderId": "' + b"x" * 2_400_000 + b'"}'
    for _ in range(5):
        response = APIClient().post(
            "/api/payment/callback", data=junk, content_type="application/json"
        )
        assert response.status_code in (HTTPStatus.REQUEST_ENTITY_TOO_LARGE, HTTPStatus.BAD_REQUEST)
    assert not PaymentNotification.objects.exists()


def test_refused_notifications_keep_a_kilobyte_and_stop_being_stored_per_address(signed, plans):
    junk = json.dumps({"orderId": "x", "status": "SUCCESS", "pad": "y" * 30_000}).encode()
    codes = [
        APIClient(REMOTE_ADDR="10.6.6.6")
        .post("/api/payment/callback", data=junk, content_type="application/json")
        .status_code
        for _ in range(40)
    ]
    assert set(codes) == {HTTPStatus.UNAUTHORIZED}
    stored = PaymentNotification.objects.all()
    assert stored.count() == 30  # THROTTLE_NOTIFICATION_REFUSED, 30/min by default
    assert max(len(n.body) for n in stored) == 1_000
    assert {n.outcome for n in stored} == {NotificationOutcome.REFUSED}

    # The gateway's own notification, from the same address, is stored whole and processed.
    order = VipOrderFactory()
    client = APIClient(REMOTE_ADDR="10.6.6.6")
    payload = {"orderId": order.order_number, "status": "SUCCESS"}
    assert post_callback(client, payload, secret=signed).status_code == HTTPStatus.OK
    kept = PaymentNotification.objects.get(verified=True)
    assert (kept.outcome, json.loads(kept.body)) == (NotificationOutcome.PAID, payload)


def test_refused_notifications_are_pruned_after_their_retention(signed, settings):
    old = timezone.now() - timedelta(days=settings.PAYMENT_NOTIFICATION_RETENTION_DAYS + 1)
    refused = PaymentNotification.objects.create(verified=False, received_at=old)
    paid = PaymentNotification.objects.create(verified=True, received_at=old)
    recent = PaymentNotification.objects.create(verified=False)
    assert notifications_prune() == 1
    assert set(PaymentNotification.objects.values_list("pk", flat=True)) == {paid.pk, recent.pk}
    assert not PaymentNotification.objects.filter(pk=refused.pk).exists()


# 6. Sandbox: the Host header decided where the server sent notifications.


def test_the_host_header_decides_neither_links_nor_deliveries(
    api, user, plans, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.ALLOWED_HOSTS = ["testserver", "127.0.0.1"]
    settings.SITE_URL = "https://vip.example.com"
    delivered = []
    monkeypatch.setattr(
        "payments.gateways.sandbox._deliver_in_background", lambda pk, url: delivered.append(url)
    )
    created = api.post(
        "/api/payment/generate-qrcode",
        {"userId": user.pk, "planId": 1, "amount": "29.90", "paymentMethod": 0},
        format="json",
        headers={"Host": "127.0.0.1:8699"},
    )
    assert created.json()["qrCodeUrl"].startswith("https://vip.example.com/api/payment/qrcode/")
    order = created.json()["orderId"]
    with django_capture_on_commit_callbacks(execute=True):
        Client(HTTP_HOST="127.0.0.1:8699").post(
            links.with_token(f"/pay/{order}/simulate", order),
            {"status": "SUCCESS"},
            content_type="application/json",
        )
    assert delivered == ["https://vip.example.com/api/payment/callback"]


# 7. Reconciliation stopped at the first bad order; reprocess needed only the view right.


def test_reconciliation_goes_on_past_an_order_that_fails(plans, monkeypatch, caplog):
    bad, good = VipOrderFactory(), VipOrderFactory()
    VipOrder.objects.update(create_time=timezone.now() - timedelta(minutes=10))

    def query(self, order):
        if order.pk == bad.pk:
            raise RuntimeError("gateway timeout")
        return PaymentReport(GatewayResult.SUCCESS, order.amount, "T1")

    monkeypatch.setattr(SandboxProvider, "query_payment", query)
    counts = services.orders_reconcile()
    assert counts == {"checked": 2, "paid": 1, "failed": 0, "errors": 1}
    assert VipOrder.objects.get(pk=good.pk).status == OrderStatus.PAID
    assert "reconciling order=" in caplog.text


def test_reprocessing_needs_the_right_to_change_orders(plans, signed):
    record = PaymentNotification.objects.create(
        verified=True, outcome=NotificationOutcome.ERROR, body="{}"
    )
    viewer = StaffFactory(rights=())
    viewer.user_permissions.add(Permission.objects.get(codename="view_paymentnotification"))
    client = Client()
    client.force_login(viewer)
    page = client.get("/admin/payments/paymentnotification/")
    assert page.status_code == HTTPStatus.OK
    assert 'value="reprocess"' not in page.content.decode()
    client.post(
        "/admin/payments/paymentnotification/",
        {"action": "reprocess", ACTION_CHECKBOX_NAME: [record.pk]},
    )
    record.refresh_from_db()
    assert record.outcome == NotificationOutcome.ERROR  # untouched


# 8. Smaller findings.


def test_personal_api_answers_are_not_stored_by_caches(api, user, plans):
    order = VipOrderFactory(user=user)
    for path in ("/api/users/current", f"/api/payment/status/{order.order_number}"):
        assert "no-store" in api.get(path)["Cache-Control"]
    qr = api.get(f"/api/payment/qrcode/{order.order_number}.svg")  # the buyer's own
    assert "private" in qr["Cache-Control"]  # cached by the buyer's browser only


def test_pages_carry_a_content_security_policy(client):
    policy = client.get("/accounts/login/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy


def test_with_nothing_set_the_settings_fail_closed(tmp_path):
    env = production_env(tmp_path)
    for name in ("DJANGO_DEBUG", "DJANGO_SECRET_KEY", "PAYMENT_SANDBOX", "PAYMENT_CALLBACK_SECRET"):
        env.pop(name)
    printed = manage(
        env,
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.DEBUG, s.PAYMENT_SANDBOX)",
    )
    assert printed.stdout.strip().splitlines()[-1] == "False False"
    # No server starts without a real key (commands that sign nothing, like migrate, run).
    served = subprocess.run(
        [sys.executable, "-c", "import config.wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert served.returncode != 0
    assert "DJANGO_SECRET_KEY must be set to a real secret" in served.stderr
    assert manage(env, "makemigrations", "--check", "--dry-run").returncode == 0
    env["DJANGO_SECRET_KEY"] = "a-real-secret-" + "x" * 40
    assert (
        subprocess.run(
            [sys.executable, "-c", "import config.wsgi"], cwd=ROOT, env=env, check=False
        ).returncode
        == 0
    )


def test_without_a_secret_or_the_sandbox_every_callback_is_refused(settings, plans):
    settings.PAYMENT_CALLBACK_SECRET = ""
    settings.PAYMENT_SANDBOX = False
    order = VipOrderFactory()
    response = post_callback(APIClient(), {"orderId": order.order_number, "status": "SUCCESS"})
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
