"""MariaDB stops under a running server, then comes back: 503s in the contract's format while
it is down, and the same server serves again without a restart."""

import json
import subprocess
import urllib.request
from http import HTTPStatus

import pytest
from django.db import connections

from ..factories import PASSWORD, UserFactory
from ..helpers import requires_mariadb
from ..servers import ROOT, wait_until

pytestmark = [requires_mariadb, pytest.mark.faults, pytest.mark.django_db(transaction=True)]

MARIADBD = "/usr/sbin/mariadbd"


def call(url: str, payload: dict | None = None) -> tuple[int, dict, dict]:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def mariadb_answers() -> bool:
    return (
        subprocess.run(
            [".venv/bin/python", "bin/dbtool.py", "ping"],
            cwd=ROOT,
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )


def stop_mariadb() -> None:
    subprocess.run(
        ["start-stop-daemon", "--stop", "--exec", MARIADBD, "--retry", "TERM/60/KILL/5"],
        check=True,
        capture_output=True,
    )


def start_mariadb() -> None:
    subprocess.run(
        ["start-stop-daemon", "--start", "--oknodo", "--background", "--exec", MARIADBD],
        check=True,
        capture_output=True,
    )
    assert wait_until(mariadb_answers, timeout=60), "MariaDB did not come back"


def test_the_server_answers_503_while_the_database_is_down_and_recovers(start_gunicorn):
    user = UserFactory()
    server = start_gunicorn(workers=2)
    login = {"username": user.username, "password": PASSWORD}
    assert call(f"{server.url}/readyz")[0] == HTTPStatus.OK
    assert call(f"{server.url}/api/users/login", login)[0] == HTTPStatus.OK

    stop_mariadb()
    try:
        status, body, headers = call(f"{server.url}/readyz")
        assert (status, body["database"]) == (HTTPStatus.SERVICE_UNAVAILABLE, "down")

        # The user service's protocol: HTTP 200, the code in the body (the old front end would
        # re-send a login that failed with an HTTP 5xx three more times).
        status, body, headers = call(f"{server.url}/api/users/login", login)
        assert status == HTTPStatus.OK
        assert body == {"code": 503, "message": "服务暂时不可用", "data": None}
        assert headers["Retry-After"] == "5"

        status, body, _ = call(
            f"{server.url}/api/payment/callback", {"orderId": "x", "status": "SUCCESS"}
        )
        assert status == HTTPStatus.SERVICE_UNAVAILABLE
        assert (body["status"], set(body)) == (503, {"error", "status", "timestamp"})
    finally:
        start_mariadb()
        connections.close_all()  # this process's connection died with the server

    assert wait_until(lambda: call(f"{server.url}/readyz")[0] == HTTPStatus.OK, timeout=30)
    assert call(f"{server.url}/api/users/login", login)[0] == HTTPStatus.OK
    assert server.process.poll() is None  # the same server, never restarted
