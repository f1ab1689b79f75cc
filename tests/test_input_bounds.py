"""Bounds wherever a date or a length comes in: out of range is a 400 in the path's format that
changes nothing, and no date staff can set makes a paid grant fail. An unexpected error is
logged at ERROR with its traceback and counted as a server error, in an envelope too."""

import logging
import re
from datetime import datetime, timedelta
from http import HTTPStatus
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from prometheus_client import REGISTRY
from rest_framework import serializers

from payments import serializers as payment_serializers
from payments.models import OrderStatus
from users import serializers as user_serializers
from users import services
from users.models import User, VipLedgerEntry

from .factories import VipOrderFactory
from .helpers import envelope_error, post_callback

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Input fields named otherwise than the column they go to or are compared with.
COLUMN_OF = {"orderId": "order_number"}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _column_lengths() -> dict[str, int]:
    """Every character column of the platform's apps, by name: its shortest length."""
    lengths: dict[str, int] = {}
    for app in ("users", "payments"):
        for model in apps.get_app_config(app).get_models():
            for field in model._meta.concrete_fields:
                if getattr(field, "max_length", None) and field.get_internal_type() in (
                    "CharField",
                    "EmailField",
                ):
                    name = field.column
                    lengths[name] = min(lengths.get(name, field.max_length), field.max_length)
    return lengths


def _input_serializers():
    """The serializers requests are read with: by the project's naming, `...Input` (a body)
    and `...Query` (query parameters)."""
    for module in (user_serializers, payment_serializers):
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, serializers.Serializer)
                and value.__module__ == module.__name__
                and value.__name__.endswith(("Input", "Query"))
            ):
                yield value


def test_every_input_fits_the_column_it_goes_to():
    """Walks the serializers and the models: a text input named like a column (by its source,
    or its camelCase name) must be limited to that column's length."""
    columns = _column_lengths()
    checked, mismatches = 0, []
    for serializer in _input_serializers():
        for name, field in serializer().fields.items():
            if field.read_only or not isinstance(field, serializers.CharField):
                continue
            column = COLUMN_OF.get(name) or (field.source if field.source != name else _snake(name))
            if column not in columns:
                continue
            checked += 1
            if field.max_length is None or field.max_length > columns[column]:
                mismatches.append(
                    f"{serializer.__name__}.{name}: {field.max_length} > {column}"
                    f"({columns[column]})"
                )
    assert checked >= 10  # register, profile, login, callback, search ... were all seen
    assert mismatches == []


def test_an_email_longer_than_its_column_is_a_400_not_a_500(api, anon, user):
    """The probe: 254 characters allowed, `varchar(100)` in the table, code 500."""
    long_email = "a" * 95 + "@example.com"
    answer = anon.post(
        "/api/users/register",
        {"username": "longmail", "password": "Tr0ub4dor&3x", "email": long_email},
        format="json",
    )
    assert envelope_error(answer) == (400, "邮箱不能超过100个字符")
    assert not User.objects.filter(username="longmail").exists()
    answer = api.put("/api/users/profile", {"email": long_email}, format="json")
    assert envelope_error(answer) == (400, "邮箱不能超过100个字符")
    user.refresh_from_db()
    assert user.email != long_email


YEAR_ONE = "0001-01-01T00:00:00"
YEAR_9999 = "9999-12-31T23:59:59"


@pytest.mark.parametrize("moment", [YEAR_ONE, YEAR_9999, "1969-12-31T23:59:59+08:00"])
def test_out_of_range_dates_are_400_on_every_path(staff_api, user, plans, moment):
    search = staff_api.post("/api/payment/orders/search", {"startTime": moment}, format="json")
    assert search.status_code == HTTPStatus.BAD_REQUEST
    assert search.json()["fields"] == {"startTime": "时间必须在1970-01-01到2099-12-31之间"}
    put = staff_api.put(
        f"/api/users/{user.pk}/vip", {"vipType": 1, "vipExpireTime": moment}, format="json"
    )
    assert envelope_error(put) == (400, "时间必须在1970-01-01到2099-12-31之间")
    query = urlencode({"vipType": 1, "vipExpireTime": moment})
    params = staff_api.put(f"/api/users/{user.pk}/vip/params?{query}")
    assert envelope_error(params) == (400, "时间必须在1970-01-01到2099-12-31之间")
    user.refresh_from_db()
    assert (user.is_vip, user.vip_expire_time) == (False, None)
    assert not VipLedgerEntry.objects.exists()


def test_the_last_accepted_expiry_is_the_end_of_2099(staff_api, user, plans):
    ok = staff_api.put(
        f"/api/users/{user.pk}/vip",
        {"vipType": 1, "vipExpireTime": "2099-12-31T23:59:59"},
        format="json",
    )
    assert ok.json()["code"] == HTTPStatus.OK
    user.refresh_from_db()
    assert user.vip_expire_time == datetime(2099, 12, 31, 23, 59, 59, tzinfo=SHANGHAI)


def test_the_service_and_the_admin_refuse_an_expiry_past_the_limit(user):
    with pytest.raises(services.VipExpiryTooLate):
        services.vip_set(
            user_id=user.pk,
            expire_time=datetime(2100, 1, 1, tzinfo=SHANGHAI),
            actor=None,
            reason="test",
        )
    from users.admin import GrantVipForm

    form = GrantVipForm(
        {"expire_time_0": "9999-12-31", "expire_time_1": "00:00:00", "reason": "永久"}
    )
    assert not form.is_valid()
    assert form.errors["expire_time"] == ["到期时间不能晚于2099-12-31。"]


@pytest.mark.parametrize(
    "stored",
    [
        datetime(2099, 12, 31, 23, 59, 59, tzinfo=SHANGHAI),  # the latest staff can set
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=SHANGHAI),  # written by another program
    ],
)
def test_no_stored_expiry_makes_a_paid_grant_fail(user, plans, anon, stored):
    """The probe: a staff-set expiry near 9999 → the next purchase is paid, its grant fails
    with OverflowError, and every retry fails again."""
    User.objects.filter(pk=user.pk).update(is_vip=True, vip_expire_time=stored)
    order = VipOrderFactory(user=user, plan=plans[3])
    answer = post_callback(anon, {"orderId": order.order_number, "status": "SUCCESS"})
    assert answer.json() == {"orderId": order.order_number, "status": OrderStatus.PAID}
    order.refresh_from_db()
    assert (order.grant_failed_at, order.grant_error) == (None, "")
    user.refresh_from_db()
    assert user.vip_expire_time == max(stored, services.VIP_EXPIRY_LIMIT)
    assert VipLedgerEntry.objects.get(order=order).expire_after == user.vip_expire_time


def test_an_extension_near_the_limit_stops_at_it(user):
    near = services.VIP_EXPIRY_LIMIT - timedelta(days=10)
    User.objects.filter(pk=user.pk).update(is_vip=True, vip_expire_time=near)
    services.vip_extend(user_id=user.pk, days=365, reason="test")
    user.refresh_from_db()
    assert user.vip_expire_time == services.VIP_EXPIRY_LIMIT


def _count(status: str, view: str) -> float:
    value = REGISTRY.get_sample_value(
        "django_http_responses_total_by_status_view_method_total",
        {"status": status, "view": view, "method": "PUT"},
    )
    return value or 0.0


def test_an_unexpected_error_in_an_envelope_is_logged_and_counted(api, monkeypatch, caplog):
    """The probe saw code-500 envelopes (HTTP 200) logged at INFO as `OK: /api/users/profile`
    and not counted as errors, so the 5xx alert never saw them."""

    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(services, "user_update_profile", broken)
    before = _count("500", "users:profile")
    api.raise_request_exception = False
    with caplog.at_level(logging.INFO):
        answer = api.put("/api/users/profile", {"phone": "13800138000"}, format="json")
    assert envelope_error(answer) == (500, "系统异常，请稍后重试")
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info[0] is RuntimeError
    assert "/api/users/profile" in errors[0].getMessage()
    assert not [r for r in caplog.records if r.getMessage().startswith("OK:")]
    assert _count("500", "users:profile") == before + 1
