"""Time the daily reconciliation of a big bill: each provider's bill of one day holding
`--lines` payments (100,000 by default), made by the local fakes from as many paid orders.

    .venv/bin/python bench/bills.py [--lines 100000]

Uses its own database, vipplatform_bench_bills (emptied and seeded with bulk inserts), and the
fakes on a free port. Prints one JSON object per provider: the seconds to download, check,
parse, store and match the bill, the queries it took, and what it found (every line matched),
and writes bench/results/bills.json.
"""

import argparse
import json
import os
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import FAKE_KEYS, RESULTS, environment, setup_django  # noqa: E402


def seed(lines: int, day) -> None:
    """A tenth as many users, and twice `lines` orders paid at noon of `day`: WeChat Pay's and
    Alipay's alternately (`seq % 2`), `lines` each."""
    from bench import seed
    from vipplatform.times import day_start

    seed.reset()
    seed.seed_users(lines // 10)
    paid_at = day_start(day) + timedelta(hours=12)
    seed._execute(
        "INSERT INTO vip_order (user_id, order_number, vip_type, plan_name, plan_days, amount,"
        " payment_method, status, create_time, pay_time, expire_time, qr_code_url,"
        " transaction_id, grant_error)"
        " SELECT u.id, CONCAT('BILL', LPAD(seq, 10, '0')), 1 + seq %% 3, p.name, p.days, p.price,"
        " seq %% 2, 1, %s, %s, %s, '', CONCAT('T', seq), ''"
        " FROM seq_1_to_{count} s"
        " JOIN (SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS n FROM `user`) u"
        "   ON u.n = s.seq %% (SELECT COUNT(*) FROM `user`)"
        " JOIN vip_plan p ON p.id = 1 + s.seq %% 3".replace("{count}", str(2 * lines)),
        [paid_at, paid_at, paid_at + timedelta(minutes=30)],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()

    env = environment(cache=False, database="vipplatform_bench_bills")
    setup_django(env)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from devtools.fakes import CHINA_TIME, FakeGateways, Trade

    call_command("migrate", verbosity=0)
    fakes = FakeGateways(FAKE_KEYS).start()
    for name, value in fakes.settings().items():
        setattr(settings, name, value)
    settings.PAYMENT_PROVIDER_TIMEOUT_SECONDS = 120.0  # the download of a big file
    from payments import bills
    from payments.models import VipOrder

    day = timezone.localdate() - timedelta(days=1)
    started = time.perf_counter()
    seed(args.lines, day)
    seeded = time.perf_counter() - started
    paid_at = datetime.combine(day, datetime.min.time(), CHINA_TIME) + timedelta(hours=12)
    for number, method, amount in VipOrder.objects.values_list(
        "order_number", "payment_method", "amount"
    ).iterator(chunk_size=10_000):
        provider = "wechat" if method == 0 else "alipay"
        getattr(fakes, provider).trades[number] = Trade(
            provider, number, Decimal(amount), "月度会员", "", "", state="SUCCESS",
            transaction_id=f"T{number}", paid_at=paid_at,
        )  # fmt: skip
    results = {"lines": args.lines, "seed_seconds": round(seeded, 1)}
    for provider in ("wechat", "alipay"):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            record = bills.bill_reconcile(provider=provider, day=day)
            seconds = time.perf_counter() - started
        results[provider] = {
            "seconds": round(seconds, 1),
            "queries": len(queries.captured_queries),
            "state": record.state,
            "lines": record.lines,
            "matched": record.matched,
            "differences": record.differences,
        }
    fakes.stop()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bills.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
