"""The gateway callback's signature, and the sandbox mode without one."""

import json
import time
from http import HTTPStatus

import pytest
from django.core.checks import Error
from rest_framework.test import APIClient

from payments.checks import check_payment_sandbox_off
from payments.gateways import contract as gateway
from payments.gateways.base import timestamp_problem
from payments.models import OrderStatus
from users.models import VipLedgerEntry

from ..factories import VipOrderFactory
from ..helpers import post_callback

pytestmark = pytest.mark.django_db


def assert_unchanged(order):
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert order.pay_time is None
    assert not VipLedgerEntry.objects.exists()


def success(order, **extra):
    return {"orderId": order.order_number, "status": "SUCCESS", **extra}


def test_a_correctly_signed_notification_pays(plans, signed):
    order = VipOrderFactory()
    response = post_callback(APIClient(), success(order), secret=signed)
    assert response.status_code == HTTPStatus.OK
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_an_unsigned_notification_is_refused_in_signed_mode(plans, signed):
    order = VipOrderFactory()
    response = post_callback(APIClient(), success(order))
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["status"] == HTTPStatus.UNAUTHORIZED
    assert_unchanged(order)


def test_a_notification_signed_with_another_secret_is_refused(plans, signed):
    order = VipOrderFactory()
    response = post_callback(APIClient(), success(order), secret="not-our-secret")
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert_unchanged(order)


def test_the_timestamp_window_is_under_300_seconds_either_way():
    now = 1_800_000_000
    for skew in (0, 299, -299):
        assert timestamp_problem(str(now + skew), max_skew=300, now=now) == ""
    for skew in (300, -300, 3600):
        assert timestamp_problem(str(now + skew), max_skew=300, now=now) == "stale"
    assert timestamp_problem("soon", max_skew=300, now=now) == "invalid"


# Well past the window: a slow test run (a second or more between signing and checking) must
# not bring a refused timestamp back inside it; the boundary itself is tested above.
@pytest.mark.parametrize("skew", [-330, 330, -3600])
def test_a_stale_or_future_timestamp_is_refused(plans, signed, skew):
    order = VipOrderFactory()
    body = json.dumps(success(order)).encode()
    headers = gateway.signed_headers(body=body, secret=signed, timestamp=int(time.time()) + skew)
    response = APIClient().post(
        "/api/payment/callback", data=body, content_type="application/json", headers=headers
    )
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert_unchanged(order)


def test_a_body_changed_after_signing_is_refused(plans, signed):
    order = VipOrderFactory()
    signed_body = json.dumps(success(order, amount="29.90")).encode()
    headers = gateway.signed_headers(body=signed_body, secret=signed)
    tampered = signed_body.replace(b"29.90", b"0.01")
    response = APIClient().post(
        "/api/payment/callback", data=tampered, content_type="application/json", headers=headers
    )
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert_unchanged(order)


def test_a_signed_notification_with_the_wrong_amount_is_refused(plans, signed):
    order = VipOrderFactory()
    response = post_callback(APIClient(), success(order, amount="0.01"), secret=signed)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert_unchanged(order)


@pytest.mark.parametrize(
    "headers",
    [
        {gateway.TIMESTAMP_HEADER: "soon", gateway.SIGNATURE_HEADER: "ab"},
        {gateway.TIMESTAMP_HEADER: "", gateway.SIGNATURE_HEADER: "ab"},
        {gateway.SIGNATURE_HEADER: "ab"},
        {gateway.TIMESTAMP_HEADER: str(int(time.time())), gateway.SIGNATURE_HEADER: "é"},
    ],
)
def test_malformed_signature_headers_are_refused(plans, signed, headers):
    order = VipOrderFactory()
    response = post_callback(APIClient(), success(order), **headers)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert_unchanged(order)


def test_a_signature_in_upper_case_hex_is_accepted(plans, signed):
    order = VipOrderFactory()
    body = json.dumps(success(order)).encode()
    headers = gateway.signed_headers(body=body, secret=signed)
    headers[gateway.SIGNATURE_HEADER] = headers[gateway.SIGNATURE_HEADER].upper()
    response = APIClient().post(
        "/api/payment/callback", data=body, content_type="application/json", headers=headers
    )
    assert response.status_code == HTTPStatus.OK


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    # A vector computed independently: printf '1700000000.{}' | openssl dgst -sha256 -hmac k
    assert gateway.sign(secret="k", timestamp=1700000000, body=b"{}") == (
        "c6ef4734033cee2367414a0939385eca0397754aa7a59716da7463a9298b5146"
    )


def test_the_callback_needs_no_csrf_token(plans):
    order = VipOrderFactory()
    client = APIClient(enforce_csrf_checks=True)
    response = post_callback(client, success(order))
    assert response.status_code == HTTPStatus.OK


def test_sandbox_mode_with_debug_off_fails_the_deploy_checks(settings):
    settings.DEBUG = False
    errors = check_payment_sandbox_off(None)
    assert {error.id for error in errors} == {"payments.E001", "payments.E002"}
    assert all(isinstance(error, Error) for error in errors)


def test_signed_mode_passes_the_deploy_checks(settings, signed):
    settings.DEBUG = False
    assert check_payment_sandbox_off(None) == []


def test_sandbox_mode_with_debug_off_logs_a_warning_at_start(settings, caplog):
    from django.apps import apps

    settings.DEBUG = False
    apps.get_app_config("payments").ready()
    assert any("sandbox" in record.getMessage() for record in caplog.records)
