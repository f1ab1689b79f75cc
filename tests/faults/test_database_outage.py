"""MariaDB stops under a running server, then comes back: 503s in the contract's format while
it is down, and the same server serves again without a restart. The MariaDB that stops is the
test's own (its own data directory and port, `tests/privatedb.py`): the machine's server, and
whatever else uses it, is never touched."""

import json
import subprocess
import sys
import urllib.request
from http import HTTPStatus

import pytest

from ..privatedb import PrivateMariaDB
from ..servers import ROOT, Gunicorn, env_on_test_database, wait_until

pytestmark = [pytest.mark.faults]

PASSWORD = "Outage-pass-1"


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


@pytest.fixture
def private_mariadb(tmp_path):
    database = PrivateMariaDB(tmp_path).start()
    database.create_database("outage")
    env = env_on_test_database(DATABASE_URL=database.url("outage"))
    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    yield database, env
    database.stop()


def test_the_server_answers_503_while_the_database_is_down_and_recovers(private_mariadb):
    database, env = private_mariadb
    server = Gunicorn(workers=2, env=env)
    try:
        outage(database, server)
    finally:
        server.stop()


def outage(database: PrivateMariaDB, server: Gunicorn) -> None:
    account = {"username": "outage", "password": PASSWORD, "email": "outage@example.com"}
    assert call(f"{server.url}/api/users/register", account)[1]["code"] == HTTPStatus.OK
    login = {"username": "outage", "password": PASSWORD}
    assert call(f"{server.url}/readyz")[0] == HTTPStatus.OK
    assert call(f"{server.url}/api/users/login", login)[0] == HTTPStatus.OK

    database.stop()
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
        database.start()

    assert wait_until(lambda: call(f"{server.url}/readyz")[0] == HTTPStatus.OK, timeout=30)
    assert call(f"{server.url}/api/users/login", login)[0] == HTTPStatus.OK
    assert server.process.poll() is None  # the same server, never restarted
