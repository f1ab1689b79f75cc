"""A database built by the release before the takeover (BIGINT keys, a TINYINT `is_vip`, times
in UTC) is brought to the site's types and wall-clock time by `migrate`, its rows kept.

The earlier release is the commit before the takeover's, taken from this repository's history
and run from a temporary directory with the same virtual environment."""

import os
import subprocess
import sys
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ..helpers import requires_mariadb
from . import sitedb

pytestmark = requires_mariadb

EARLIER_RELEASE = "09594bf"  # main before the takeover: the platform built its own tables
MAKE_ROWS = """
from datetime import datetime, timezone
from decimal import Decimal
from users.models import User
from users.services import vip_set
from payments.services import order_create
user = User.objects.create_user(username="old", password="Old-pass-123", email="old@example.com")
vip_set(user_id=user.pk, expire_time=datetime(2030, 1, 1, tzinfo=timezone.utc), actor=None,
        reason="test")
order_create(user=user, plan_id=2, amount=Decimal("88.00"), payment_method=0,
             base_url="http://testserver")
"""


def manage(tree: Path, database: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(DATABASE_URL=sitedb.url(database), DJANGO_DEBUG="true", LOG_LEVEL="WARNING")
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=tree, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def earlier_release(tmp_path):
    archive = subprocess.run(
        ["git", "archive", "--format=tar", EARLIER_RELEASE],
        cwd=sitedb.ROOT,
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        pytest.skip(f"commit {EARLIER_RELEASE} is not in this clone's history")
    with tempfile.TemporaryFile() as file:
        file.write(archive.stdout)
        file.seek(0)
        with tarfile.open(fileobj=file) as tar:
            tar.extractall(tmp_path, filter="data")
    return tmp_path


def test_a_database_of_the_earlier_release_moves_to_site_types_and_wall_clock(earlier_release):
    name = f"site_earlier_{os.getpid()}"
    connection = sitedb.create(name, schema=False)
    try:
        manage(earlier_release, name, "migrate", "--noinput")
        manage(earlier_release, name, "shell", "-c", MAKE_ROWS)
        assert sitedb.fetch(connection, "SELECT vip_expire_time FROM `user`") == [
            (datetime(2030, 1, 1),)  # UTC, as that release stored it
        ]
        assert sitedb.columns(connection, "user")["id"][0] == "bigint(20)"

        manage(sitedb.ROOT, name, "migrate", "--noinput")

        user = sitedb.columns(connection, "user")
        assert (user["id"][0], user["is_vip"][0]) == ("int(10) unsigned", "int(11)")
        assert sitedb.columns(connection, "vip_order")["user_id"][0] == "int(10) unsigned"
        assert sitedb.columns(connection, "vip_ledger")["user_id"][0] == "int(10) unsigned"
        assert sitedb.fetch(connection, "SELECT is_vip, vip_expire_time FROM `user`") == [
            (1, datetime(2030, 1, 1, 8))  # the same instant, as Shanghai wall-clock time
        ]
        assert sitedb.fetch(connection, "SELECT expire_after FROM vip_ledger") == [
            (datetime(2030, 1, 1, 8),)
        ]
        read_back = manage(
            sitedb.ROOT,
            name,
            "shell",
            "-c",
            "from users.models import User; print(User.objects.get().vip_expire_time.isoformat())",
        )
        instant = datetime.fromisoformat(read_back.strip().splitlines()[-1])
        assert instant == datetime(2030, 1, 1, tzinfo=UTC)
    finally:
        connection.close()
        sitedb.drop(name)
