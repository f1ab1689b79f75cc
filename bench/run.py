"""The benchmark: each hot path under load, against /healthz in the same run and against the
database's own limit for the same SQL.

    .venv/bin/python bench/run.py                 # without the read cache
    .venv/bin/python bench/run.py --cache         # with Redis (CACHE_URL) for reads and sessions
    .venv/bin/python bench/run.py --jobs          # also time the expiry jobs over 100k / 1M rows

It needs MariaDB and (for --cache) Redis on 127.0.0.1, and wrk (`apt-get install wrk`). It
uses its own databases (vipplatform_bench, vipplatform_bench_jobs), seeded with bulk inserts:
100,000 users and 1,000,000 orders, plus 100,000 payable orders for the callback run. Results go
to bench/results/<name>.json and a markdown table to bench/results/<name>.md.
"""

import argparse
import json
import multiprocessing
import os
import re
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from http.cookies import SimpleCookie
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
LUA = ROOT / "bench" / "lua" / "request.lua"
DB_URL = "mysql://root@127.0.0.1:3306/{name}"
SECRET = "bench-gateway-secret"
USERS, ORDERS, PAYABLE = 100_000, 1_000_000, 100_000
BUYERS = 2_000  # generate-qrcode's buyers, each logged in
TARGETS = {  # the issue's targets: text, and whether a row meets it
    "status": ("ratio ≥ 0.6", lambda row: row["ratio"] >= 0.6),
    "current user": ("ratio ≥ 0.6", lambda row: row["ratio"] >= 0.6),
    "generate-qrcode": ("ratio ≥ 0.4", lambda row: row["ratio"] >= 0.4),
    "callback": (
        "ratio ≥ 0.3, p99 < 100 ms, 0 errors",
        lambda row: row["ratio"] >= 0.3 and row["p99_ms"] < 100 and row["errors"] == 0,
    ),
    "WeChat Pay notification": (
        "p99 < 100 ms, 0 errors",
        lambda row: row["p99_ms"] < 100 and row["errors"] == 0,
    ),
    "Alipay notification": (
        "p99 < 100 ms, 0 errors",
        lambda row: row["p99_ms"] < 100 and row["errors"] == 0,
    ),
    "order search (1M)": ("p99 < 100 ms", lambda row: row["p99_ms"] < 100),
    "order search (1M), 2 staff": ("p99 < 100 ms", lambda row: row["p99_ms"] < 100),
}
FLOOR_NOTES = {  # bench/floor.py
    "floor: bare DRF view": "floor: DRF alone, no auth",
    "floor: one Redis round trip": "floor: /healthz plus one MGET",
    "floor: status without DRF": "floor: session, user and order in one MGET; no DRF",
    "floor: search without DRF": "floor: the search's two statements, orders written by hand",
}
FLOORS = tuple(FLOOR_NOTES)
# The paths whose every request pays a different pending order: their items are made afresh
# (signed, and for WeChat Pay encrypted, with the time in them) right before each run.
PAYING = ("callback", "WeChat Pay notification", "Alipay notification")
WARMUP_ORDERS, MEASURED_ORDERS = 3_000, 12_000  # more than a run pays at 500 req/s
FAKE_KEYS = Path(tempfile.gettempdir()) / "bench-fake-gateway-keys"
BROKER = "redis://127.0.0.1:6379/3"


def environment(*, cache: bool, database: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PAYMENT_"))}
    env.pop("CACHE_URL", None)
    env.update(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SECURE_COOKIES="false",
        DJANGO_SECURE_HSTS_SECONDS="0",
        DATABASE_URL=DB_URL.format(name=database),
        PAYMENT_CALLBACK_SECRET=SECRET,
        PAYMENT_SANDBOX="false",
        LOG_LEVEL="WARNING",
        THROTTLE_ORDER_CREATE="100000000/min",
        THROTTLE_LOGIN_ADDRESS="100000000/min",
        THROTTLE_LOGIN_USERNAME="100000000/min",
        READ_CACHE="true" if cache else "false",
        PAYMENT_NOTIFY_BASE_URL="https://vip.example.com",
        # As in production, a paid order's receipt is a task sent to the broker (no worker
        # runs here: the queue is emptied after the run).
        CELERY_BROKER_URL=BROKER,
        EMAIL_URL="dummymail://",
    )
    if cache:
        env["CACHE_URL"] = "redis://127.0.0.1:6379/2"
        env["DJANGO_SETTINGS_MODULE"] = "bench.settings"  # adds the floor paths (bench/floor.py)
    return env


def configure_fake_providers(env: dict) -> None:
    """WeChat Pay and Alipay as their local fakes know them, in `env` (the server's) and in
    this process's settings: the notifications the benchmark sends are signed (and encrypted)
    with the fakes' keys, as the real ones would be. After `setup_django`."""
    from django.conf import settings

    from devtools.fakes import FakeAlipay, FakeWeChatPay, make_keys

    make_keys(FAKE_KEYS)
    unused = "http://127.0.0.1:9"  # nothing is created at the providers here
    providers = {
        **FakeWeChatPay(FAKE_KEYS).settings(unused),
        **FakeAlipay(FAKE_KEYS).settings(unused),
    }
    env.update(providers)
    for name, value in providers.items():
        setattr(settings, name, value)


def setup_django(env: dict) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    subprocess.run([sys.executable, "bin/dbtool.py", "create"], cwd=ROOT, env=env, check=True)
    import django

    django.setup()


# --- data -----------------------------------------------------------------------------------


def prepare_data(*, reseed: bool) -> dict:
    from django.core.management import call_command

    from bench import seed
    from payments.models import VipOrder
    from users.models import User

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)  # served by whitenoise, as in prod
    timings = {}
    if reseed or User.objects.count() < USERS or VipOrder.objects.count() < ORDERS:
        seed.reset()
        timings["seed_users_s"] = round(seed.seed_users(USERS), 1)
        timings["seed_orders_s"] = round(seed.seed_orders(ORDERS), 1)
    seed.delete_orders("P")
    timings["seed_payable_s"] = round(seed.seed_orders(PAYABLE, pending=True, prefix="P"), 1)
    staff, _ = User.objects.get_or_create(username="bench-staff", defaults={"is_staff": True})
    staff.set_password(seed.BENCH_PASSWORD)
    staff.save()
    from django.core.cache import cache

    cache.clear()
    return timings


def write_items(name: str, lines) -> str:
    path = Path(tempfile.gettempdir()) / f"bench-{name}.txt"
    path.write_text("\n".join(str(line) for line in lines) + "\n")
    return str(path)


def notification(path: str, order_number: str, amount) -> tuple[bytes, dict]:
    """What the provider of `path` sends when `order_number` is paid: body and headers."""
    from devtools.fakes import FakeAlipay, FakeWeChatPay, Trade
    from payments.gateways.contract import signed_headers

    if path == "callback":
        body = json.dumps({"orderId": order_number, "status": "SUCCESS"}, separators=(",", ":"))
        return body.encode(), {
            "Content-Type": "application/json",
            **signed_headers(body=body.encode(), secret=SECRET),
        }
    trade = Trade(path, order_number, amount, "月度会员", "", "")
    fake = FakeWeChatPay if path.startswith("WeChat") else FakeAlipay
    return fake(FAKE_KEYS).notification(trade)


def notification_items(path: str, orders) -> list[str]:
    """One line per order: "body<TAB>Header: value..." (request.lua's RAW items)."""
    lines = []
    for order_number, amount in orders:
        body, headers = notification(path, order_number, amount)
        lines.append("\t".join([body.decode(), *(f"{k}: {v}" for k, v in headers.items())]))
    return lines


# --- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env: dict, *, workers: int, threads: int, worker_class: str):
    port = free_port()
    log = open(Path(tempfile.gettempdir()) / "bench-gunicorn.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            f"--bind=127.0.0.1:{port}",
            f"--workers={workers}",
            f"--worker-class={worker_class}",
            f"--threads={threads}",
            "--keep-alive=30",
            "--timeout=60",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)
            return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"gunicorn did not start; see {log.name}")


def log_in(url: str, username: str, password: str) -> tuple[str, str]:
    request = urllib.request.Request(
        f"{url}/api/users/login",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        cookie = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie"):
            cookie.load(header)
    session, csrf = cookie["sessionid"].value, cookie["XSRF-TOKEN"].value
    return f"sessionid={session}; XSRF-TOKEN={csrf}", csrf


def buyer_sessions(count: int) -> list[str]:
    """`count` users logged in, one line each for the wrk script: "user id<TAB>Cookie<TAB>CSRF".
    The sessions are made as `login()` makes them, without hashing a password per user (see
    `log_in` for the real path); the CSRF cookie is a secret the header repeats, as the front
    end sends it."""
    from django.test import Client
    from django.utils.crypto import get_random_string

    from users.models import User

    lines = []
    for user in User.objects.filter(is_staff=False).order_by("pk")[:count]:
        client = Client()
        client.force_login(user)
        csrf = get_random_string(32)
        cookie = f"sessionid={client.cookies['sessionid'].value}; XSRF-TOKEN={csrf}"
        lines.append(f"{user.pk}\t{cookie}\t{csrf}")
    return lines


def peak_rss_mb(master_pid: int) -> list[float]:
    pids = subprocess.run(
        ["pgrep", "-P", str(master_pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    peaks = []
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        peaks.append(round(int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024, 1))
    return peaks


def _cpu_seconds(pids) -> float:
    """User and system CPU of processes (all their threads), from /proc."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # gone meanwhile
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _pids(*args: str) -> list[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False).stdout.split()


class CpuMeter:
    """Where the CPU goes while a path runs: the app (gunicorn's master and workers), MariaDB,
    Redis and the load generator (wrk, a child of this process). On two cores there are 2,000
    CPU-ms a second to share, so requests/s is about 2,000 / (the sum per request) when busy."""

    def __init__(self, server_pid: int):
        self.server_pid = server_pid

    def sample(self) -> dict[str, float]:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return {
            "app": _cpu_seconds([self.server_pid, *_pids("pgrep", "-P", str(self.server_pid))]),
            "MariaDB": _cpu_seconds(_pids("pidof", "mariadbd", "mysqld")),
            "Redis": _cpu_seconds(_pids("pidof", "redis-server")),
            "wrk": children.ru_utime + children.ru_stime,
        }

    def per_request(self, before: dict, after: dict, requests: int) -> dict[str, float]:
        return {name: round((after[name] - before[name]) * 1000 / requests, 3) for name in before}


# --- load -----------------------------------------------------------------------------------

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise SystemExit(f"cannot read wrk's latency {text!r}")
    value, unit = match.groups()
    return round(float(value) * UNITS[unit], 2)


def wrk(url: str, spec: dict, *, duration: int, connections: int, threads: int = 2) -> dict:
    env = {**os.environ, "THREADS": str(threads), **spec.get("env", {})}
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "--timeout=10s",
        "-s",
        str(LUA),
        url,
    ]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    if "Latency Distribution" not in out:
        raise SystemExit(f"wrk measured nothing for {spec['env'].get('URL_PATH')}:\n{out}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
        "p99_ms": _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
        "errors": errors + (int(non_2xx.group(1)) if non_2xx else 0),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
    }


def measured(url: str, spec: dict, meter: CpuMeter, *, duration: int, connections: int) -> dict:
    """`wrk`, with the CPU each process group spent per request."""
    before = meter.sample()
    row = wrk(url, spec, duration=duration, connections=connections)
    row["cpu_ms_per_request"] = meter.per_request(before, meter.sample(), row["requests"])
    return row


def beside_healthz(
    url: str, spec: dict, healthz: dict, args, connections: int, meter: CpuMeter
) -> dict:
    """The path, with `/healthz` measured right before and right after it.

    This machine's speed drifts over a run (other tenants; MariaDB flushing after the seeding):
    `/healthz` alone has measured 1,258 and 2,872 req/s minutes apart. The mean of the two runs
    around a path is the baseline its ratio is taken to, so the drift mostly cancels.
    """
    before = wrk(url, healthz, duration=args.baseline, connections=args.connections)
    row = measured(url, spec, meter, duration=args.duration, connections=connections)
    after = wrk(url, healthz, duration=args.baseline, connections=args.connections)
    row["healthz_per_s"] = round((before["requests_per_s"] + after["requests_per_s"]) / 2, 1)
    return row


def path_specs(member: tuple, staff: tuple, member_id: int) -> dict:
    from payments.models import VipOrder
    from users.models import User

    own_orders = list(
        VipOrder.objects.filter(user_id=member_id).values_list("order_number", flat=True)[:20]
    )
    user_ids = list(User.objects.order_by("?").values_list("pk", flat=True)[:20_000])
    # Each paying path pays the orders of the method its provider serves (a notification for
    # another provider's order is refused): the contract gateway bank card, WeChat Pay 0,
    # Alipay 1. The seed spreads the payable orders over the three methods.
    payable = {
        method: list(
            VipOrder.objects.filter(
                order_number__startswith="P", payment_method=method
            ).values_list("order_number", "amount")
        )
        for method in (0, 1, 2)
    }
    get, post = {"METHOD": "GET"}, {"METHOD": "POST"}
    specs = {
        "healthz": {"env": {**get, "URL_PATH": "/healthz"}},
        "status": {
            "env": {
                **get,
                "URL_PATH": "/api/payment/status/{item}",
                "COOKIE": member[0],
                "ITEMS": write_items("status", own_orders),
            }
        },
        "current user": {"env": {**get, "URL_PATH": "/api/users/current", "COOKIE": member[0]}},
        # Paid by bank card (method 2), which the contract gateway serves: WeChat Pay and Alipay
        # are configured here for their notifications only, and an order for them would call
        # the provider. Each request from another buyer, as in production: one buyer's order-create
        # throttle keeps a timestamp per order of the last minute, and at hundreds of orders
        # a second that list (read and written whole on every request) would be the cost.
        "generate-qrcode": {
            "env": {
                **post,
                "URL_PATH": "/api/payment/generate-qrcode",
                "SESSION_ITEMS": "1",
                "ITEMS": write_items("buyers", buyer_sessions(BUYERS)),
                "BODY": '{"userId": {item}, "planId": 1, "amount": "29.90", "paymentMethod": 2}',
            }
        },
        "callback": {
            "env": {**post, "URL_PATH": "/api/payment/callback", "RAW": "1"},
            "payable": payable[2],
        },
        "WeChat Pay notification": {
            "env": {**post, "URL_PATH": "/api/payment/notify/wechat", "RAW": "1"},
            "payable": payable[0],
        },
        "Alipay notification": {
            "env": {**post, "URL_PATH": "/api/payment/notify/alipay", "RAW": "1"},
            "payable": payable[1],
        },
        "floor: bare DRF view": {"env": {**get, "URL_PATH": "/floor/drf"}},
        "floor: one Redis round trip": {"env": {**get, "URL_PATH": "/floor/redis"}},
        "floor: status without DRF": {
            "env": {
                **get,
                "URL_PATH": "/floor/status/{item}",
                "COOKIE": member[0],
                "ITEMS": write_items("status", own_orders),
            }
        },
        "order search (1M)": {
            "staff_cookie": staff[0],
            "env": {
                **post,
                "URL_PATH": "/api/payment/orders/search",
                "COOKIE": staff[0],
                "CSRF": staff[1],
                "BODY": '{"userId": {item}, "size": 10}',
                "ITEMS": write_items("users", user_ids),
            },
        },
    }
    # The staff search at a staff-sized concurrency: two people searching at once.
    specs["order search (1M), 2 staff"] = {**specs["order search (1M)"], "connections": 2}
    search_env = specs["order search (1M)"]["env"]
    specs["floor: search without DRF"] = {
        "staff_cookie": staff[0],
        "env": {**search_env, "URL_PATH": "/floor/search"},
    }
    return specs


# --- the database's own limit ----------------------------------------------------------------


def capture_sql(name: str, spec: dict, member_id: int, staff_id: int, count: int) -> list:
    """The SQL the path sends, one list per replay worker: read paths send the same
    statements (captured on a second request, caches warm); write paths get one request each,
    on a different order, so the replay does not queue on one row lock."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from users.models import User

    env = spec["env"]
    client = Client()
    if env.get("COOKIE"):
        user_id = staff_id if env.get("COOKIE") == spec.get("staff_cookie") else member_id
        client.force_login(User.objects.get(pk=user_id))
    items = Path(env["ITEMS"]).read_text().splitlines() if env.get("ITEMS") else [""]

    def one(index: int) -> list[str]:
        item = items[index % len(items)]
        if env.get("SESSION_ITEMS"):  # "user id<TAB>cookie<TAB>csrf": log that user in
            item = item.split("\t")[0]
            client.force_login(User.objects.get(pk=item))
        headers, body = {}, env.get("BODY", "").replace("{item}", item)
        content_type = "application/json"
        if name in PAYING:  # the last orders of its share, which the load leaves alone
            body, headers = notification(name, *spec["payable"][-1 - index])
            content_type = headers.pop("Content-Type")
        with CaptureQueriesContext(connection) as queries:
            path = env["URL_PATH"].replace("{item}", item)
            if env["METHOD"] == "GET":
                client.get(path)
            else:
                client.post(path, body, content_type=content_type, headers=headers)
        return [query["sql"] for query in queries.captured_queries]

    if name in (*PAYING, "generate-qrcode"):
        one(count)  # warm
        return [one(index) for index in range(count)]
    one(0)
    return [one(0)] * count


def _replay_worker(args) -> int:
    statements, seconds = args
    write = any(not s.lstrip().upper().startswith("SELECT") for s in statements)
    import MySQLdb

    connection = MySQLdb.connect(
        host="127.0.0.1", user="root", database="vipplatform_bench", charset="utf8mb4"
    )
    cursor = connection.cursor()
    done, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        if write:
            cursor.execute("BEGIN")
        for sql in statements:
            try:
                cursor.execute(sql)
                cursor.fetchall()
            except MySQLdb.IntegrityError:
                pass  # a replayed INSERT of a unique row: same work done
        if write:
            cursor.execute("ROLLBACK")
        done += 1
    connection.close()
    return done


def database_limit(per_worker: list[list[str]], *, seconds: int) -> float | None:
    """Iterations per second of the path's statements, by a plain mysqlclient loop in one
    process per list; writes run in a transaction rolled back each time."""
    if not per_worker[0]:
        return None
    with multiprocessing.Pool(len(per_worker)) as pool:
        counts = pool.map(_replay_worker, [(statements, seconds) for statements in per_worker])
    return round(sum(counts) / seconds, 1)


def explain(statements: list[str]) -> list:
    from django.db import connection

    plans = []
    with connection.cursor() as cursor:
        for sql in statements:
            if sql.lstrip().upper().startswith("SELECT") and "vip_order" in sql:
                cursor.execute("EXPLAIN " + sql)
                columns = [c[0] for c in cursor.description]
                plans.append(
                    {
                        "sql": sql[:300],
                        "plan": [dict(zip(columns, r, strict=True)) for r in cursor.fetchall()],
                    }
                )
    return plans


# --- jobs -----------------------------------------------------------------------------------


def bench_jobs(*, users: int = USERS, orders: int = ORDERS) -> dict:
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench import seed

    seed.reset()
    result = {
        "seed_due_users_s": round(seed.seed_users(users, lapsed=True), 1),
        "seed_due_orders_s": round(seed.seed_orders(orders, pending=True, prefix="J"), 1),
    }
    seed.make_overdue("J")
    for command, rows in (("expire_orders", orders), ("expire_vips", users)):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            call_command(command, verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
            seconds = time.perf_counter() - started
        result[command] = {
            "due_rows": rows,
            "seconds": round(seconds, 1),
            "queries": len(queries.captured_queries),
        }
    return result


# --- report ---------------------------------------------------------------------------------


def markdown(result: dict) -> str:
    lines = [
        f"Benchmark {result['name']}: {result['when']}, {result['machine']}; gunicorn "
        f"{result['server']}; wrk {result['load']}.",
        "",
        "| path | conns | req/s | p50 ms | p99 ms | errors | /healthz req/s beside it | "
        "ratio to /healthz | DB limit req/s | share of DB limit | SQL | target | met |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for name, row in result["paths"].items():
        db = row.get("db_limit_per_s")
        share = f"{row['requests_per_s'] / db:.2f}" if db else "—"
        target, met = TARGETS.get(name, (FLOOR_NOTES.get(name, "baseline"), None))
        lines.append(
            f"| {name} | {row.get('connections', '')} | {row['requests_per_s']:.0f} | "
            f"{row['p50_ms']} | {row['p99_ms']} | "
            f"{row['errors']} | {row['healthz_per_s']:.0f} | {row['ratio']:.2f} | "
            f"{db or 'no SQL'} | {share} | "
            f"{row.get('statements', 0)} | {target} | "
            f"{'—' if met is None else ('yes' if met(row) else 'no')} |"
        )
    lines += [
        "",
        "CPU per request while each path ran (ms; two cores give 2,000 CPU-ms a second, so "
        "req/s ≈ 2,000 / total when the machine is busy):",
        "",
        "| path | app (gunicorn) | MariaDB | Redis | wrk | total |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in result["paths"].items():
        cpu = row["cpu_ms_per_request"]
        lines.append(
            f"| {name} | {cpu['app']:.2f} | {cpu['MariaDB']:.2f} | {cpu['Redis']:.2f} | "
            f"{cpu['wrk']:.2f} | {sum(cpu.values()):.2f} |"
        )
    lines += [
        "",
        f"Each path's ratio is to `/healthz` measured for {result['baseline_s']} s right before"
        " and right after it (their mean), so the machine's drift over the run cancels.",
        f"Peak RSS per worker (MB): {result['peak_rss_mb']}.",
    ]
    if "jobs" in result:
        jobs = result["jobs"]
        lines.append(
            f"Jobs: expire_orders over {jobs['expire_orders']['due_rows']:,} due orders "
            f"{jobs['expire_orders']['seconds']} s in {jobs['expire_orders']['queries']} queries; "
            f"expire_vips over {jobs['expire_vips']['due_rows']:,} due users "
            f"{jobs['expire_vips']['seconds']} s in {jobs['expire_vips']['queries']} queries."
        )
    lines.append(f"Seeding: {result['seed']}.")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", action="store_true", help="Redis read cache and sessions")
    parser.add_argument("--duration", type=int, default=15, help="seconds per path")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--baseline", type=int, default=5, help="seconds of /healthz before and after each path"
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--db-seconds", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--worker-class",
        default="sync",
        choices=["sync", "gthread"],
        help="sync, as the README runs it in production; gthread keeps connections alive",
    )
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--jobs", action="store_true", help="also time the expiry jobs")
    parser.add_argument("--only", nargs="*", help="paths to run (default: all)")
    args = parser.parse_args()
    name = "with-cache" if args.cache else "without-cache"

    env = environment(cache=args.cache, database="vipplatform_bench")
    setup_django(env)
    configure_fake_providers(env)
    from users.models import User

    seeding = prepare_data(reseed=args.reseed)
    from bench.seed import BENCH_PASSWORD

    member = User.objects.get(username="bench1")
    staff = User.objects.get(username="bench-staff")

    server, url = start_server(
        env, workers=args.workers, threads=args.threads, worker_class=args.worker_class
    )
    try:
        specs = path_specs(
            log_in(url, member.username, BENCH_PASSWORD),
            log_in(url, staff.username, BENCH_PASSWORD),
            member.pk,
        )
        paths = {}
        meter = CpuMeter(server.pid)
        for path, spec in specs.items():
            if args.only and path not in args.only and path != "healthz":
                continue
            if path in FLOORS and not args.cache:  # they read the order from Redis
                continue
            statements = capture_sql(
                path, spec, member.pk, staff.pk, spec.get("connections", args.connections)
            )
            connections = spec.get("connections", args.connections)
            if path in PAYING:  # fresh signatures, each request a different order
                orders = iter(spec["payable"])
                spec["env"]["ITEMS"] = write_items(
                    path, notification_items(path, islice(orders, WARMUP_ORDERS))
                )
            wrk(url, spec, duration=args.warmup, connections=connections)
            if path in PAYING:  # the measured run pays orders the warm-up left alone
                spec["env"]["ITEMS"] = write_items(
                    path, notification_items(path, islice(orders, MEASURED_ORDERS))
                )
            if path == "healthz":
                row = measured(url, spec, meter, duration=args.duration, connections=connections)
                row["healthz_per_s"] = row["requests_per_s"]
            else:
                row = beside_healthz(url, spec, specs["healthz"], args, connections, meter)
            row["ratio"] = round(row["requests_per_s"] / row["healthz_per_s"], 2)
            row["connections"] = connections
            row["statements"] = len(statements[0])
            row["sql"] = statements[0]
            row["db_limit_per_s"] = database_limit(statements, seconds=args.db_seconds)
            if path in ("status", "order search (1M)"):
                row["explain"] = explain(statements[0])
            paths[path] = row
            print(f"{path}: {row['requests_per_s']:.0f} req/s, p99 {row['p99_ms']} ms", flush=True)
        rss = peak_rss_mb(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        import redis

        redis.Redis.from_url(BROKER).flushdb()  # the receipts no worker will send

    result = {
        "name": name,
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{os.cpu_count()} cores",
        "server": f"{args.workers} {args.worker_class} workers"
        + (f" × {args.threads} threads" if args.worker_class == "gthread" else "")
        + ", DEBUG off",
        "load": f"{args.connections} connections, 2 threads, {args.warmup} s warm-up + "
        f"{args.duration} s per path",
        "baseline_s": args.baseline,
        "seed": ", ".join(f"{k} {v}" for k, v in seeding.items()),
        "paths": paths,
        "peak_rss_mb": rss,
    }
    if args.jobs:
        jobs_env = environment(cache=False, database="vipplatform_bench_jobs")
        subprocess.run(
            [sys.executable, "bin/dbtool.py", "create"], cwd=ROOT, env=jobs_env, check=True
        )
        result["jobs"] = json.loads(
            subprocess.run(
                [sys.executable, "-c", "from bench.run import _jobs_main; _jobs_main()"],
                cwd=ROOT,
                env=jobs_env,
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2, default=str))
    (RESULTS / f"{name}.md").write_text(markdown(result))
    print(markdown(result))


def _jobs_main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    print(json.dumps(bench_jobs()))


if __name__ == "__main__":
    main()
