"""How long `manage.py migrate` takes to take over the site's database, and what the switch and
its first minute of jobs do to the counts the other services read (docs/takeover.md).

Loads the site's schema into a scratch database, fills it as the old services would have
(N users with plain-text passwords, 2 orders each, some NULLs: times never recorded, members
without an expiry), runs `migrate` as an operator would, then the every-minute jobs once, and
prints the time, migrate's own output (its progress lines) and the counts before, after the
switch and after the jobs.

    .venv/bin/python bench/takeover.py --users 100000
"""

import argparse
import os
import random
import string
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.takeover import sitedb

BATCH = 5_000


def fill(connection, users: int) -> None:
    cursor = connection.cursor()
    rng = random.Random(42)
    alphabet = string.ascii_letters + string.digits
    for start in range(1, users + 1, BATCH):
        ids = range(start, min(start + BATCH, users + 1))
        cursor.executemany(
            "INSERT INTO `user` (id, username, password, email, phone, is_vip, vip_expire_time,"
            " user_status, register_time, create_time, update_time)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    i,
                    f"user{i}",
                    "".join(rng.choices(alphabet, k=rng.randint(6, 16))),
                    f"user{i}@example.com",
                    None if i % 3 else f"138{i:08d}",
                    # in force, without an expiry, expired but still flagged, not VIP, NULL
                    (1, 1, 1, 0, None)[i % 5],
                    ("2027-06-30 12:00:00", None, "2025-01-31 08:00:00", None, None)[i % 5],
                    None if i % 7 == 0 else 1,
                    *([None] * 3 if i % 300 == 0 else [_registered(i)] * 3),
                )
                for i in ids
            ],
        )
        cursor.executemany(
            "INSERT INTO vip_order (user_id, order_number, vip_type, amount, payment_method,"
            " status, create_time, pay_time, expire_time, qr_code_url)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    i,
                    f"{i * 2 + k:016x}",
                    1 + (i + k) % 3,
                    ("29.90", "88.00", "328.00")[(i + k) % 3],
                    None if i % 7 == 0 else k,
                    (1, 0, 2, None)[(i + k) % 4],
                    None if (i * 2 + k) % 350 == 0 else "2024-05-01 10:00:00",
                    "2024-05-01 10:01:00" if (i + k) % 4 == 0 else None,
                    None if i % 11 == 0 else "2024-05-01 10:30:00",
                    None if i % 11 == 0 else f"http://old.example/qr/{i}-{k}",
                )
                for i in ids
                for k in (0, 1)
            ],
        )


def _registered(i: int) -> str:
    """Registration times spread over 2023-2025, none of them today."""
    day = 1 + i % 28
    return f"{2023 + i % 3}-{1 + i % 12:02d}-{day:02d} 10:00:00"


# What the site's other services read, and what an operator watches at the switch.
COUNTS = {
    "VIPs (statistics: is_vip = 1)": "SELECT COUNT(*) FROM `user` WHERE is_vip = 1",
    "users registered today": "SELECT COUNT(*) FROM `user` WHERE register_time >= CURDATE()",
    "users created today": "SELECT COUNT(*) FROM `user` WHERE create_time >= CURDATE()",
    "pending orders open for payment": "SELECT COUNT(*) FROM vip_order "
    "WHERE (status = 0 OR status IS NULL) AND expire_time > NOW()",
    "plain-text passwords": "SELECT COUNT(*) FROM `user` "
    "WHERE password NOT LIKE 'pbkdf2_sha256$%%'",
}


def counts(connection) -> dict[str, int]:
    return {label: sitedb.fetch(connection, sql)[0][0] for label, sql in COUNTS.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    name = f"site_takeover_bench_{os.getpid()}"

    started = time.monotonic()
    connection = sitedb.create(name)
    fill(connection, args.users)
    filled = time.monotonic() - started
    print(f"site database with {args.users:,} users and {2 * args.users:,} orders: {filled:.1f} s")
    before = counts(connection)

    result, seconds = sitedb.migrate(name)
    print(result.stdout.rstrip())
    if result.returncode:
        print(result.stderr, file=sys.stderr)
        return result.returncode
    print(f"migrate: {seconds:.1f} s on {os.cpu_count()} cores")
    switched = counts(connection)
    for job in ("expire_vips", "expire_orders", "hash_plain_passwords"):
        ran = sitedb.manage(name, job)
        print(f"  {job}: {ran.stdout.strip()}")
    jobs = counts(connection)
    print(f"\n| {'count':<35} | before | after migrate | after the first minute's jobs |")
    print(f"|{'-' * 37}|--------|---------------|-------------------------------|")
    for label in COUNTS:
        row = f"| {label:<35} | {before[label]:>6,} | {switched[label]:>13,} "
        print(row + f"| {jobs[label]:>29,} |")
    connection.close()
    if not args.keep:
        sitedb.drop(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
