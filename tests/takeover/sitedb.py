"""The movie site's database as its services left it, for the takeover tests and benchmark:
the schema they created (`online_movie_db.schema.sql`, a copy of the site's export) loaded into
a database of its own, rows written as the old Java services wrote them (plain-text passwords,
NULLs where they left NULLs, Shanghai wall-clock times), and `manage.py migrate` run on it."""

import os
import subprocess
import sys
import time
from pathlib import Path

import MySQLdb
from MySQLdb.constants import CLIENT

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = Path(__file__).with_name("online_movie_db.schema.sql")
HOST, PORT, USER = "127.0.0.1", 3306, "root"

# Tables the platform takes over; every other table of the site must stay as it is.
TAKEN_OVER = ("user", "vip_order")
# The site's tables whose rows reference `user` (ON DELETE CASCADE).
USER_CHILDREN = (
    "comment", "feedback", "user_behavior", "user_favorite", "user_history", "user_role",
    "vip_movie_view_count", "vip_order",
)  # fmt: skip


def connect(database: str | None = None):
    connection = MySQLdb.connect(
        host=HOST,
        port=PORT,
        user=USER,
        charset="utf8mb4",
        client_flag=CLIENT.MULTI_STATEMENTS,
        autocommit=True,
        **({"database": database} if database else {}),
    )
    connection.cursor().execute("SET time_zone = '+08:00'")  # as the site's services connect
    return connection


def run_script(connection, sql: str) -> None:
    cursor = connection.cursor()
    cursor.execute(sql)
    while cursor.nextset():
        pass


def create(name: str, *, schema: bool = True):
    """A new database `name`, with the site's tables when `schema`."""
    with connect() as server:
        server.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        server.cursor().execute(
            f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
    connection = connect(name)
    if schema:
        # MariaDB has no utf8mb4_0900_ai_ci: the swap the export's first lines prescribe.
        run_script(
            connection, SCHEMA.read_text().replace("utf8mb4_0900_ai_ci", "utf8mb4_unicode_ci")
        )
    return connection


def drop(name: str) -> None:
    with connect() as server:
        server.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")


def url(name: str) -> str:
    return f"mysql://{USER}@{HOST}:{PORT}/{name}"


def migrate(name: str) -> tuple[subprocess.CompletedProcess, float]:
    """`manage.py migrate` on database `name`, as an operator runs it; and how long it took."""
    started = time.monotonic()
    result = manage(name, "migrate", "--noinput")
    return result, time.monotonic() - started


def manage(name: str, *args: str) -> subprocess.CompletedProcess:
    """A `manage.py` command on database `name`, as an operator runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(DATABASE_URL=url(name), DJANGO_DEBUG="true", LOG_LEVEL="WARNING")
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def dump(name: str, path: Path, *tables: str) -> None:
    """The backup `docs/takeover.md` tells the operator to take (mysqldump)."""
    with path.open("w") as out:
        subprocess.run(
            ["mysqldump", f"--host={HOST}", f"--port={PORT}", f"--user={USER}",
             "--single-transaction", name, *tables],
            stdout=out,
            check=True,
        )  # fmt: skip


def restore(name: str, path: Path) -> None:
    """`mysql online_movie_db < takeover-before.sql`, as the guide says."""
    with path.open() as dumped:
        subprocess.run(
            ["mysql", f"--host={HOST}", f"--port={PORT}", f"--user={USER}", name],
            stdin=dumped,
            check=True,
        )


def checksums(connection, tables) -> dict[str, int]:
    cursor = connection.cursor()
    cursor.execute("CHECKSUM TABLE " + ", ".join(f"`{t}`" for t in tables))
    return {name.split(".")[-1]: value for name, value in cursor.fetchall()}


def tables(connection) -> list[str]:
    cursor = connection.cursor()
    cursor.execute("SHOW TABLES")
    return sorted(row[0] for row in cursor.fetchall())


def columns(connection, table: str) -> dict[str, tuple[str, str]]:
    """Each column's type and nullability, as other services see them."""
    cursor = connection.cursor()
    cursor.execute(
        "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
        [table],
    )
    return {name: (kind, nullable) for name, kind, nullable in cursor.fetchall()}


def show_create(connection, table: str) -> str:
    cursor = connection.cursor()
    cursor.execute(f"SHOW CREATE TABLE `{table}`")
    return cursor.fetchone()[1]


def fetch(connection, sql: str, params=()) -> list[tuple]:
    cursor = connection.cursor()
    cursor.execute(sql, params)
    return list(cursor.fetchall())
