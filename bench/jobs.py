"""Time the expiry jobs alone (the `--jobs` part of bench/run.py), with chosen row counts.

    .venv/bin/python bench/jobs.py --users 100000 --orders 1000000

Uses its own database, vipplatform_bench_jobs, seeded by `bench/seed.py` (emptied first).
Prints one JSON object: seeding seconds, and each job's seconds and query count.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import environment  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    args = parser.parse_args()

    os.environ.update(environment(cache=False, database="vipplatform_bench_jobs"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    subprocess.run([sys.executable, "bin/dbtool.py", "create"], cwd=ROOT, check=True)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from bench.run import bench_jobs

    print(json.dumps(bench_jobs(users=args.users, orders=args.orders), indent=2))


if __name__ == "__main__":
    main()
