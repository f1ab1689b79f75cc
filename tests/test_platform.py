"""The project's own paths: docs, health probes, and the seeded plans."""

from decimal import Decimal
from http import HTTPStatus
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client

from payments.models import VipPlan

pytestmark = pytest.mark.django_db


def test_the_migration_seeds_the_three_plans():
    plans = {plan.pk: (plan.name, plan.days, plan.price) for plan in VipPlan.objects.all()}
    assert plans == {
        1: ("月度会员", 30, Decimal("29.90")),
        2: ("季度会员", 90, Decimal("88.00")),
        3: ("年度会员", 365, Decimal("328.00")),
    }


def test_the_openapi_schema_describes_every_contract_path():
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == HTTPStatus.OK
    paths = set(response.json()["paths"])
    assert {
        "/api/payment/generate-qrcode",
        "/api/payment/status/{order_number}",
        "/api/payment/callback",
        "/api/payment/users/{user_id}/orders",
        "/api/users/register",
        "/api/users/login",
        "/api/users/logout",
        "/api/users/current",
        "/api/users/login-status",
        "/api/users/{user_id}",
        "/api/users/{user_id}/vip",
    } <= paths


def test_the_old_springdoc_paths_lead_to_the_same_docs():
    client = Client()
    assert client.get("/api-docs", HTTP_ACCEPT="application/json").json()["openapi"].startswith("3")
    redirect = client.get("/swagger-ui.html")
    assert redirect.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert redirect["Location"] == "/api/docs/"
    docs = client.get("/api/docs/")
    assert docs.status_code == HTTPStatus.OK
    assert b"swagger-ui" in docs.content
    assert b"cdn" not in docs.content.lower()  # served by the project (sidecar), no CDN


def test_healthz_needs_no_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = Client().get("/healthz")
    assert response.json() == {"status": "ok"}


def test_readyz_answers_when_the_database_does():
    assert Client().get("/readyz").json() == {"status": "ok", "database": "up", "cache": "local"}


def test_readyz_is_503_when_the_database_does_not():
    with mock.patch(
        "django.db.backends.utils.CursorWrapper.execute",
        side_effect=OperationalError("gone away"),
    ):
        response = Client().get("/readyz")
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["database"] == "down"


def test_the_browsable_api_renders_for_a_browser(api):
    response = api.get("/api/users/current", HTTP_ACCEPT="text/html")
    assert response.status_code == HTTPStatus.OK
    assert b"XSRF-TOKEN" in response.content or b"X-XSRF-TOKEN" in response.content
