"""Time a day of 连续包月: `--agreements` active agreements (5,000 by default: a site with
150,000 renewing members has as many due a day) reminded, then charged, by the renewal job.

    .venv/bin/python bench/renewals.py [--agreements 5000]

Uses its own database, vipplatform_bench_renewals (emptied, users and agreements seeded with
bulk inserts), and the sandbox as the provider (it answers each charge at once), so what is
timed is the platform's own work: per agreement, its lock and rules, the charge's order and
try, and the whole payment path (order paid, the try settled, the VIP granted with its ledger
row, the receipt). Emails go to memory. Prints one JSON object, writes
bench/results/renewals.json.
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

from bench.run import RESULTS, environment, setup_django  # noqa: E402


def seed(count: int, today) -> None:
    """`count` users, each with an active agreement of a 30-day plan, its second period due
    `today` + 6 days (not reminded yet)."""
    from bench import seed
    from payments.models import VipPlan

    for table in ("vip_renewal_charge", "vip_agreement", "member_email", "provider_call"):
        seed._execute(f"DELETE FROM `{table}`")
    seed.reset()
    VipPlan.objects.filter(renews=True).delete()
    seed.seed_users(count)
    plan = VipPlan.objects.create(
        name="连续包月", days=30, price=Decimal("25.00"), first_price=Decimal("15.00"), renews=True
    )
    seed._execute(
        "INSERT INTO vip_agreement (user_id, plan_id, agreement_number, payment_method, provider,"
        " provider_agreement_id, state, plan_name, period_days, price, first_price, sign_code,"
        " sign_deadline, create_time, signed_at, periods_paid, next_charge_date, failures,"
        " reminded_period, noticed_period, cancelled_by, unsigned_at_provider)"
        " SELECT u.id, %s, CONCAT('ABENCH', LPAD(u.id, 12, '0')), 0, 'sandbox',"
        " CONCAT('SANDBOX-', u.id), 'active', '连续包月', 30, 25.00, 15.00, '', %s, %s, %s, 1, %s,"
        " 0, 0, 0, '', 0 FROM `user` u",
        [plan.pk, *[datetime.now() - timedelta(days=24)] * 3, today + timedelta(days=6)],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agreements", type=int, default=5_000)
    args = parser.parse_args()

    env = environment(cache=False, database="vipplatform_bench_renewals")
    setup_django(env)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from payments import renewals
    from payments.gateways.base import CHINA_TIME
    from payments.models import Agreement, RenewalCharge, VipOrder
    from users.models import VipLedgerEntry

    settings.PAYMENT_SANDBOX = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("migrate", verbosity=0)
    now = datetime.now(CHINA_TIME).replace(hour=10, minute=0, second=0, microsecond=0)
    today = now.date()
    started = time.perf_counter()
    seed(args.agreements, today)
    results = {
        "agreements": args.agreements,
        "seed_seconds": round(time.perf_counter() - started, 1),
    }

    started = time.perf_counter()
    reminded = renewals.renewal_reminders_send(now=now)
    seconds = time.perf_counter() - started
    results["reminders"] = {
        "sent": reminded,
        "seconds": round(seconds, 1),
        "per_second": round(reminded / seconds),
    }

    # Six days on: every agreement due.
    charge_day = now + timedelta(days=6)
    sample = list(Agreement.objects.values_list("pk", flat=True)[:20])
    with CaptureQueriesContext(connection) as queries:
        for agreement_id in sample:
            renewals.agreement_charge(agreement_id=agreement_id, now=charge_day)
    started = time.perf_counter()
    counts = renewals.renewals_run(now=charge_day, inline=True)
    seconds = time.perf_counter() - started
    charged = RenewalCharge.objects.filter(state=RenewalCharge.State.PAID).count()
    results["charges"] = {
        "charged": charged,
        "seconds": round(seconds, 1),
        "per_second": round((charged - len(sample)) / seconds),
        "queries_per_charge": round(len(queries.captured_queries) / len(sample), 1),
        "orders_paid": VipOrder.objects.filter(status=1).count(),
        "ledger_rows": VipLedgerEntry.objects.count(),
        "job": counts,
    }
    started = time.perf_counter()
    again = renewals.renewals_run(now=charge_day, inline=True)
    results["run_again"] = {"seconds": round(time.perf_counter() - started, 2), "job": again}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "renewals.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
