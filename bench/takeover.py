"""How long `manage.py migrate` takes to take over the site's database (docs/takeover.md).

Loads the site's schema into a scratch database, fills it as the old services would have
(N users with plain-text passwords, 2 orders each, some NULLs), runs `migrate` as an operator
would, and prints the time of each phase and migrate's own output (its progress lines).

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
            " user_status) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    i,
                    f"user{i}",
                    "".join(rng.choices(alphabet, k=rng.randint(6, 16))),
                    f"user{i}@example.com",
                    None if i % 3 else f"138{i:08d}",
                    (None, 0, 1)[i % 3],
                    "2027-06-30 12:00:00" if i % 3 == 2 else None,
                    None if i % 5 == 0 else 1,
                )
                for i in ids
            ],
        )
        cursor.executemany(
            "INSERT INTO vip_order (user_id, order_number, vip_type, amount, payment_method,"
            " status, create_time, pay_time, expire_time, qr_code_url)"
            " VALUES (%s, %s, %s, %s, %s, %s, '2024-05-01 10:00:00', %s, %s, %s)",
            [
                (
                    i,
                    f"{i * 2 + k:016x}",
                    1 + (i + k) % 3,
                    ("29.90", "88.00", "328.00")[(i + k) % 3],
                    None if i % 7 == 0 else k,
                    (1, 0, 2, None)[(i + k) % 4],
                    "2024-05-01 10:01:00" if (i + k) % 4 == 0 else None,
                    None if i % 11 == 0 else "2024-05-01 10:30:00",
                    None if i % 11 == 0 else f"http://old.example/qr/{i}-{k}",
                )
                for i in ids
                for k in (0, 1)
            ],
        )


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

    result, seconds = sitedb.migrate(name)
    print(result.stdout.rstrip())
    if result.returncode:
        print(result.stderr, file=sys.stderr)
        return result.returncode
    plain = sitedb.fetch(
        connection, "SELECT COUNT(*) FROM `user` WHERE password NOT LIKE 'pbkdf2_sha256$%%'"
    )[0][0]
    print(f"migrate: {seconds:.1f} s on {os.cpu_count()} cores; plain-text passwords left: {plain}")
    connection.close()
    if not args.keep:
        sitedb.drop(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
