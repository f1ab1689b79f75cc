"""Taking over the site's `user` table in place: what migration users.0001 does on the site's
database instead of creating the table (`docs/takeover.md`).

Every row and id stays. Columns the other services read keep their types (`id` INT UNSIGNED,
`is_vip` INT 0/1, `email` unique); datetimes stay Shanghai wall-clock time (the database's
`TIME_ZONE` setting); the columns Django needs are added; plain-text passwords are hashed.
Each step can run again after an interruption (MariaDB commits DDL at once, so a takeover
stopped half-way is simply run again).
"""

import os
import sys
import time
from multiprocessing import get_context

from django.contrib.auth.hashers import PBKDF2PasswordHasher

from vipplatform.db import SITE_COLUMNS, add_missing_fields, existing_tables

# The site stored passwords as typed. Full strength (Django's PBKDF2 at a million iterations,
# about 0.2 s a password here) would take over five hours for 100,000 users on two cores. So the
# takeover hashes each with the same algorithm at TAKEOVER_ITERATIONS (about 3 ms), and Django
# brings it to full strength at the user's next login: a hash whose iteration count differs
# from the hasher's is re-made when its password is checked (PBKDF2PasswordHasher.must_update).
TAKEOVER_ITERATIONS = 10_000
HASHED_PREFIX = f"{PBKDF2PasswordHasher.algorithm}$"
BATCH = 2_000


def take_over_user_table(schema_editor, to_state) -> None:
    User = to_state.apps.get_model("users", "User")
    # NULLs the old service left where the platform needs a value. A missing time is filled
    # only from the row's own times, never with the takeover's moment ("registered today"
    # would jump): with none to take it from, it stays NULL, unknown. `update_time` is
    # assigned so that its ON UPDATE CURRENT_TIMESTAMP does not stamp every row.
    schema_editor.execute(
        "UPDATE `user` SET is_vip = CASE WHEN is_vip = 1 THEN 1 ELSE 0 END, "
        "user_status = COALESCE(user_status, 1), "
        "create_time = COALESCE(create_time, register_time), "
        "register_time = COALESCE(register_time, create_time), "
        "update_time = COALESCE(update_time, create_time, register_time)"
    )
    # The site's defaults and comments stay, so that its other programs' inserts still work.
    schema_editor.execute(
        "ALTER TABLE `user` "
        "MODIFY `password` varchar(128) NOT NULL COMMENT '加密密码', "
        "MODIFY `last_login_time` datetime(6) NULL COMMENT '最后登录时间', "
        "MODIFY `user_status` integer NOT NULL DEFAULT 1, "
        "MODIFY `is_vip` integer NOT NULL DEFAULT 0, "
        "MODIFY `vip_expire_time` datetime(6) NULL COMMENT 'VIP过期时间', "
        + ", ".join(f"MODIFY {column}" for column in SITE_COLUMNS["user"])
    )
    add_missing_fields(schema_editor, User, ["is_superuser", "is_staff"])
    for field in User._meta.local_many_to_many:  # groups, user_permissions
        through = field.remote_field.through
        if through._meta.db_table not in existing_tables(schema_editor):
            schema_editor.create_model(through)
    hash_plain_passwords(User)


def hash_plain_passwords(User) -> None:
    """Every password not yet hashed by the takeover, hashed on all cores, in batches."""
    plain = User.objects.exclude(password__startswith=HASHED_PREFIX)
    total = plain.count()
    if not total:
        return
    done, started = 0, time.monotonic()
    rows = plain.order_by("pk").values_list("pk", "password", "update_time")
    processes = min(os.cpu_count() or 1, max(1, total // BATCH))
    with get_context("fork").Pool(processes) as pool:
        for hashed in pool.imap(_hash_rows, _batches(rows)):
            # `update_time` written back as it was: its ON UPDATE would stamp every user with
            # the takeover's moment ("updated today" for all).
            User.objects.bulk_update(
                [
                    User(pk=pk, password=password, update_time=updated)
                    for pk, password, updated in hashed
                ],
                ["password", "update_time"],
            )
            done += len(hashed)
            _progress("passwords hashed", done, total, started)


def _batches(rows):
    batch = []
    for row in rows.iterator(chunk_size=BATCH):
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _hash_rows(rows: list[tuple[int, str, object]]) -> list[tuple[int, str, object]]:
    hashed = dict(hash_batch([(pk, password) for pk, password, _ in rows]))
    return [(pk, hashed[pk], updated) for pk, _, updated in rows]


def hash_batch(rows: list[tuple[int, str]]) -> list[tuple[int, str]]:
    hasher = PBKDF2PasswordHasher()
    return [
        (pk, hasher.encode(raw, hasher.salt(), iterations=TAKEOVER_ITERATIONS)) for pk, raw in rows
    ]


def _progress(label: str, done: int, total: int, started: float) -> None:
    """For the operator watching `migrate`: rows done of the total, on one line."""
    elapsed = time.monotonic() - started
    end = f" in {elapsed:.1f} s\n" if done == total else ""
    sys.stdout.write(f"\r  {label}: {done:,}/{total:,}{end}")
    sys.stdout.flush()
