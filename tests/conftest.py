import os
import shutil

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from devtools.fakes import FakeGateways

from .factories import StaffFactory, UserFactory, VipPlanFactory
from .servers import OwnRedis


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counts live in the cache: no test inherits another's."""
    cache.clear()


@pytest.fixture(autouse=True)
def _sandbox(settings):
    """Tests start in sandbox mode (unsigned callbacks); `signed` switches signatures on.
    Links are made on Django's test client's host."""
    settings.PAYMENT_CALLBACK_SECRET = ""
    settings.PAYMENT_SANDBOX = True
    settings.SITE_URL = "http://testserver"


@pytest.fixture
def signed(settings):
    settings.PAYMENT_CALLBACK_SECRET = "test-gateway-secret"
    settings.PAYMENT_SANDBOX = False
    return settings.PAYMENT_CALLBACK_SECRET


@pytest.fixture
def plans(db):
    return {pk: VipPlanFactory(id=pk) for pk in (1, 2, 3)}


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def anon():
    return APIClient()


@pytest.fixture
def client_for():
    def make(user) -> APIClient:
        client = APIClient()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def api(client_for, user):
    """A client logged in as `user`."""
    return client_for(user)


@pytest.fixture
def staff_api(client_for, staff):
    return client_for(staff)


@pytest.fixture(scope="session")
def fakes(tmp_path_factory):
    """Local WeChat Pay and Alipay (devtools.fakes), with keys made for the run."""
    fakes = FakeGateways(tmp_path_factory.mktemp("fake-gateway-keys")).start()
    yield fakes
    fakes.stop()


@pytest.fixture
def providers(settings, fakes):
    """WeChat Pay serves method 0 and Alipay method 1, at the fakes; they notify the test
    client's host (a test posts their notifications itself)."""
    for name, value in fakes.settings().items():
        setattr(settings, name, value)
    settings.PAYMENT_NOTIFY_BASE_URL = "http://testserver"
    settings.PAYMENT_PROVIDER_TIMEOUT_SECONDS = 1.0
    for fake in (fakes.wechat, fakes.alipay):
        fake.fail_next = None
        fake.trades.clear()  # a day's bill holds this test's trades alone
        fake.bills_ready = True
        fake.corrupt_bills = False
    return fakes


@pytest.fixture(scope="session")
def own_redis():
    """A redis-server of the run's own, on a free port (the machine's Redis is left alone)."""
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is required in CI (.ci/run installs it)")
        pytest.skip("no redis-server on this machine")
    server = OwnRedis()
    yield server
    server.stop()


@pytest.fixture
def eager_retries(monkeypatch):
    """Let tasks retry in eager mode (at once, one try after another) to see every try;
    the platform itself does not (`config.celery.Task`)."""
    from config.celery import Task

    monkeypatch.setattr(Task, "eager_retries", True)
