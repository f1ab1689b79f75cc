"""The shared read cache (Redis): status and session-user reads skip the database, and a
change is what the next read sees."""

import os
import subprocess
import sys
from datetime import timedelta
from http import HTTPStatus

import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.cache import cache
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from payments import status_cache
from payments.status_cache import load
from users.models import User
from users.services import vip_expire_due
from vipplatform.readcache import backend
from vipplatform.readcache.keys import order_key, user_key
from vipplatform.readcache.middleware import ReadAheadMiddleware

from .factories import UserFactory, VipOrderFactory
from .helpers import post_callback

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_cache(settings, own_redis):
    redis_url = own_redis.url(0)
    settings.CACHES = {
        "default": {"BACKEND": "vipplatform.readcache.backend.RedisCache", "LOCATION": redis_url}
    }
    settings.READ_CACHE = True
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "vipplatform.readcache.middleware.ReadAheadMiddleware",
    ]
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    assert cache.available(), redis_url  # the cache fails safe: ask it whether Redis answers
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def member(redis_cache, user, client_for):
    return client_for(user)


def test_the_cache_shares_one_redis_client(redis_cache):
    """Django's own backend builds a client per call, which costs more than the call."""
    client = cache._cache.get_client("a")
    assert cache._cache.get_client("b", write=True) is client
    cache.set("a", 1)
    assert cache.get("a") == 1


def test_a_redis_cache_url_selects_the_shared_client_backend():
    code = "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])"
    redis_url = "redis://127.0.0.1:6379/0"  # only read by the settings: nothing connects
    env = {**os.environ, "CACHE_URL": redis_url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "vipplatform.readcache.backend.RedisCache"


def test_a_repeated_status_read_costs_no_query(member, user, plans, django_assert_num_queries):
    order = VipOrderFactory(user=user)
    member.get(f"/api/payment/status/{order.order_number}")  # fills the cache
    with django_assert_num_queries(0):
        response = member.get(f"/api/payment/status/{order.order_number}")
    assert response.json()["status"] == 0


def test_a_repeated_current_user_read_costs_no_query(member, django_assert_num_queries):
    member.get("/api/users/current")
    with django_assert_num_queries(0):
        assert member.get("/api/users/current").status_code == HTTPStatus.OK


def test_a_paid_order_is_read_paid_at_once(member, user, plans, django_capture_on_commit_callbacks):
    order = VipOrderFactory(user=user)
    assert member.get(f"/api/payment/status/{order.order_number}").json()["status"] == 0
    assert member.get("/api/users/current").json()["data"]["isVip"] == 0

    with django_capture_on_commit_callbacks(execute=True):
        post_callback(APIClient(), {"orderId": order.order_number, "status": "SUCCESS"})

    assert member.get(f"/api/payment/status/{order.order_number}").json()["status"] == 1
    me = member.get("/api/users/current").json()["data"]
    assert me["isVip"] == 1


def test_a_new_expiry_set_by_staff_is_read_at_once(
    member, user, staff_api, plans, django_capture_on_commit_callbacks
):
    member.get("/api/users/current")
    with django_capture_on_commit_callbacks(execute=True):
        staff_api.put(
            f"/api/users/{user.pk}/vip",
            {"vipType": 1, "vipExpireTime": "2099-01-01T00:00:00+08:00"},
            format="json",
        )
    assert (
        member.get("/api/users/current")
        .json()["data"]["vipExpireTime"]
        .startswith("2099-01-01T00:00:00")
    )


def test_the_expiry_job_refreshes_the_cached_users(
    member, user, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=user.pk).update(
        is_vip=True, vip_expire_time=timezone.now() - timedelta(seconds=1)
    )
    member.get("/api/users/current")  # cached with is_vip=True
    with django_capture_on_commit_callbacks(execute=True):
        assert vip_expire_due() == 1
    assert cache.get(f"user:v1:{user.pk}").is_vip is False


def test_a_reader_cannot_put_an_old_status_back(redis_cache, plans):
    order = VipOrderFactory()
    stale = load(order.order_number)  # a reader fetched the row before the payment...
    order.status = 1
    order.save()
    cache.set(order_key(order.order_number), load(order.order_number))  # ...the writer's refresh
    cache.add(order_key(order.order_number), stale)  # ...then the reader's late fill: ignored
    assert status_cache.order_status(order.order_number).status == 1


def test_a_disabled_user_is_logged_out_at_once(member, user, django_capture_on_commit_callbacks):
    member.get("/api/users/current")
    with django_capture_on_commit_callbacks(execute=True):
        user.is_active = False
        user.save()
    assert member.get("/api/users/current").json()["code"] == HTTPStatus.UNAUTHORIZED


@pytest.fixture
def redis_commands(monkeypatch):
    """The names of the commands this process sends to Redis."""
    sent = []
    execute = redis.Redis.execute_command

    def spy(self, *args, **options):
        sent.append(args[0])
        return execute(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", spy)
    return sent


def test_a_status_poll_is_one_redis_round_trip(member, user, plans, redis_commands):
    """The session, its user and the order are read ahead together (see vipplatform.readcache)."""
    order = VipOrderFactory(user=user)
    member.get(f"/api/payment/status/{order.order_number}")  # learns the session's user
    redis_commands.clear()
    response = member.get(f"/api/payment/status/{order.order_number}")
    assert response.json()["orderId"] == order.order_number
    assert redis_commands == ["MGET"]


def test_a_current_user_read_is_one_redis_round_trip(member, user, redis_commands):
    member.get("/api/users/current")
    redis_commands.clear()
    assert member.get("/api/users/current").json()["data"]["id"] == user.pk
    assert redis_commands == ["MGET"]


def test_what_was_read_ahead_is_used_once_and_never_over_a_write(redis_cache, redis_commands):
    cache.set_many({"a": 1, "b": 1, "c": 1})
    redis_commands.clear()
    cache.read_ahead(["a", "b", "c", "absent"])
    assert cache.get("a") == 1
    assert cache.get("absent", "default") == "default"
    assert redis_commands == ["MGET"]
    cache.set("b", 2)
    cache.delete("c")
    assert cache.get("b") == 2  # the request's own write, not what was read ahead
    assert cache.get("c") is None
    cache.set("a", 3)
    assert cache.get("a") == 3  # used once: the second get asks Redis
    cache.end_read_ahead()


def test_a_wrong_guess_of_the_sessions_user_is_not_used(redis_cache, member, user):
    """The middleware guesses the user's cache key from the session key; the user still comes
    from the session."""
    someone_else = UserFactory()
    cache.set(user_key(someone_else.pk), someone_else)
    request = RequestFactory().get("/api/users/current")
    request.COOKIES[settings.SESSION_COOKIE_NAME] = member.cookies[
        settings.SESSION_COOKIE_NAME
    ].value
    SessionMiddleware(lambda request: None).process_request(request)
    middleware = ReadAheadMiddleware(lambda request: None)
    middleware._session_users[request.session.session_key] = str(someone_else.pk)

    middleware.process_view(request, lambda request: None, (), {})
    try:
        assert get_user(request).pk == user.pk
    finally:
        cache.end_read_ahead()


def test_a_cache_that_does_not_answer_is_a_miss_not_an_error(settings, monkeypatch, caplog):
    monkeypatch.setattr(backend, "health", backend._Health())
    settings.CACHES = {
        "default": {
            "BACKEND": "vipplatform.readcache.backend.RedisCache",
            "LOCATION": "redis://127.0.0.1:1",
        }
    }
    cache.read_ahead(["a"])  # no Redis there: nothing read ahead
    assert cache.get("a", "default") == "default"
    assert cache.set("a", 1) is False
    assert cache.get_many(["a", "b"]) == {}
    assert cache.available() is False
    assert caplog.text.count("cache unavailable") == 1  # once a minute, not per call


def test_nothing_is_read_ahead_without_the_read_cache(
    member, user, plans, settings, redis_commands
):
    order = VipOrderFactory(user=user)
    settings.READ_CACHE = False
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "readcache" not in m]
    redis_commands.clear()
    member.get(f"/api/payment/status/{order.order_number}")
    assert redis_commands == []
