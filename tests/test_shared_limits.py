"""Limits and logs as they run in production: gunicorn with several workers and no shared
cache (`CACHE_URL` unset), its access log written by its own logger."""

import json
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from .factories import PASSWORD, UserFactory
from .helpers import requires_mariadb
from .servers import Browser, Gunicorn, env_on_test_database

pytestmark = [requires_mariadb, pytest.mark.django_db(transaction=True)]


def _login(url: str, username: str, password: str) -> dict:
    request = urllib.request.Request(
        f"{url}/api/users/login",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # a new connection each
        return json.loads(response.read())


def test_login_limits_are_shared_by_every_worker_without_a_shared_cache(tmp_path):
    """The probe: with CACHE_URL unset and two workers, after 12 wrong passwords every spelling
    of the name still logged in (each worker counted its own)."""
    UserFactory(username="victim")
    metrics = tmp_path / "metrics"
    env = env_on_test_database(
        THROTTLE_LOGIN_USERNAME="5/min",
        THROTTLE_LOGIN_ADDRESS="1000/min",
        PROMETHEUS_MULTIPROC_DIR=str(metrics),
    )
    env.pop("CACHE_URL", None)
    server = Gunicorn(workers=3, env=env)
    try:
        codes = [_login(server.url, "victim", "wrong-guess")["code"] for _ in range(12)]
        right = _login(server.url, "victim", PASSWORD)
    finally:
        server.stop()
    assert codes[:5] == [1006] * 5  # 用户名或密码错误
    assert set(codes[5:]) == {429}
    assert right["code"] == 429  # the right password too, until the minute is over
    workers = {path.stem.rsplit("_", 1)[-1] for path in metrics.glob("counter_*.db")}
    assert len(workers) >= 2, workers  # the attempts were spread over several workers


def test_no_password_reaches_gunicorns_access_log(tmp_path):
    """The old front end's `PUT /api/users/password?oldPassword=…&newPassword=…`."""
    # Hashed as the server hashes (the tests' own fast hasher is not one it knows).
    changer = UserFactory(username="changer")
    changer.password = PBKDF2PasswordHasher().encode(PASSWORD, "salt1234")
    changer.save(update_fields=["password"])
    access_log = tmp_path / "access.log"
    server = Gunicorn(
        workers=1, env=env_on_test_database(), options=(f"--access-logfile={access_log}",)
    )
    try:
        browser = Browser(server.url)
        browser.api("GET", "/api/users/login-status")
        assert (
            browser.api("POST", "/api/users/login", {"username": "changer", "password": PASSWORD})[
                1
            ]["code"]
            == 200
        )
        new = "Brand-n3w-Secret"
        query = urlencode({"oldPassword": PASSWORD, "newPassword": new})
        _, body = browser.api("PUT", f"/api/users/password?{query}")
        assert body["code"] == 200, body
    finally:
        server.stop()
    text = Path(access_log).read_text()
    assert "PUT /api/users/password?oldPassword=[redacted]&newPassword=[redacted]" in text
    for secret in (PASSWORD, quote(PASSWORD), new):
        assert secret not in text
    server_log = Path(server.log.name).read_text()
    assert PASSWORD not in server_log and new not in server_log
