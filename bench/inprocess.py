"""Where a path's time goes, in process: no server, no load generator, no network to the client.

    .venv/bin/python bench/inprocess.py                    # ms and queries per request, every path
    .venv/bin/python bench/inprocess.py --cache            # the same with the Redis read cache
    .venv/bin/python bench/inprocess.py --profile status   # and cProfile's top functions for one

Each request goes through Django's WSGI handler exactly as gunicorn calls it, against the
benchmark's database (run bench/run.py once to seed it). The numbers are CPU time of one
process per request; bench/run.py measures the same paths under load.
"""

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import SECRET, environment, setup_django


def wsgi_environ(method: str, path: str, *, body: bytes = b"", headers: dict) -> dict:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_ACCEPT": "application/json",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
    }
    if body:
        environ["CONTENT_TYPE"] = "application/json"
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def requests(member, staff) -> dict:
    """Per path, a function of the request's index that answers (method, path, body, headers)."""
    from payments.gateways.contract import signed_headers
    from payments.models import VipOrder
    from users.models import User

    own = list(
        VipOrder.objects.filter(user_id=member.pk).values_list("order_number", flat=True)[:20]
    )
    user_ids = list(User.objects.values_list("pk", flat=True)[:5000])
    payable = list(
        VipOrder.objects.filter(order_number__startswith="P", status=0)
        .order_by("-pk")
        .values_list("order_number", flat=True)[:20_000]
    )
    member_headers = {"Cookie": member.cookie, "X-XSRF-TOKEN": member.csrf}
    staff_headers = {"Cookie": staff.cookie, "X-XSRF-TOKEN": staff.csrf}
    # Each order from another buyer (see the generate-qrcode spec in bench/run.py).
    buyers = [Session(user) for user in User.objects.filter(is_staff=False).order_by("pk")[:200]]

    def qrcode(i):
        buyer = buyers[i % len(buyers)]
        body = {"userId": buyer.pk, "planId": 1, "amount": "29.90", "paymentMethod": 0}
        return (
            "POST",
            "/api/payment/generate-qrcode",
            json.dumps(body).encode(),
            {"Cookie": buyer.cookie, "X-XSRF-TOKEN": buyer.csrf},
        )

    def callback(i):
        body = json.dumps({"orderId": payable.pop(), "status": "SUCCESS"}).encode()
        return "POST", "/api/payment/callback", body, signed_headers(body=body, secret=SECRET)

    return {
        "healthz": lambda i: ("GET", "/healthz", b"", {}),
        "status": lambda i: (
            "GET",
            f"/api/payment/status/{own[i % len(own)]}",
            b"",
            member_headers,
        ),
        "current user": lambda i: ("GET", "/api/users/current", b"", member_headers),
        "generate-qrcode": qrcode,
        "callback": callback,
        "floor: bare DRF view": lambda i: ("GET", "/floor/drf", b"", {}),
        "floor: one Redis round trip": lambda i: ("GET", "/floor/redis", b"", {}),
        "floor: status without DRF": lambda i: (
            "GET",
            f"/floor/status/{own[i % len(own)]}",
            b"",
            member_headers,
        ),
        "order search (1M)": lambda i: (
            "POST",
            "/api/payment/orders/search",
            json.dumps({"userId": user_ids[i % len(user_ids)], "size": 10}).encode(),
            staff_headers,
        ),
        "floor: search without DRF": lambda i: (
            "POST",
            "/floor/search",
            json.dumps({"userId": user_ids[i % len(user_ids)], "size": 10}).encode(),
            staff_headers,
        ),
    }


class Session:
    def __init__(self, user):
        from django.test import Client

        client = Client()
        client.force_login(user)
        client.get("/api/users/current")  # sets the CSRF cookie
        self.pk = user.pk
        self.csrf = client.cookies["XSRF-TOKEN"].value
        self.cookie = f"sessionid={client.cookies['sessionid'].value}; XSRF-TOKEN={self.csrf}"


def run(handler, make, count: int) -> dict:
    from django.db import connection

    def call(i):
        method, path, body, headers = make(i)
        status = []
        chunks = handler(
            wsgi_environ(method, path, body=body, headers=headers),
            lambda s, h, *a: status.append(s),
        )
        body = b"".join(chunks)
        if not status[0].startswith("200"):
            raise SystemExit(f"{method} {path}: {status[0]} {body[:300]!r}")

    for i in range(20):  # warm up: imports, caches, the connection
        call(i)
    # The median of batches of 100: this machine's neighbours steal time in bursts.
    wall, cpu = [], []
    for start in range(0, count, 100):
        started, started_cpu = time.perf_counter(), time.process_time()
        for i in range(start, start + 100):
            call(i)
        wall.append((time.perf_counter() - started) / 100)
        cpu.append((time.process_time() - started_cpu) / 100)
    per_request = []  # the SQL of each of 50 more requests, counted apart: counting costs time

    def counter(execute, sql, params, many, context):
        per_request[-1].append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        for i in range(50):
            per_request.append([])
            call(count + i)
    return {
        "sql": per_request[-1],
        "wall_ms": round(statistics.median(wall) * 1000, 2),
        "cpu_ms": round(statistics.median(cpu) * 1000, 2),
        "queries": sum(map(len, per_request)) / len(per_request),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", action="store_true", help="Redis read cache and sessions")
    parser.add_argument("--count", type=int, default=1000, help="requests per path")
    parser.add_argument("--only", nargs="*", help="paths to run (default: all)")
    parser.add_argument("--profile", help="print cProfile's top functions for this path")
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--sql", action="store_true", help="print the SQL of one request")
    args = parser.parse_args()

    setup_django(environment(cache=args.cache, database="vipplatform_bench"))
    from django.core.handlers.wsgi import WSGIHandler

    from users.models import User

    handler = WSGIHandler()
    member = Session(User.objects.get(username="bench1"))
    staff = Session(User.objects.get(username="bench-staff"))
    paths = requests(member, staff)
    for name, make in paths.items():
        if args.only and name not in args.only:
            continue
        if name.startswith("floor") and not args.cache:  # bench/floor.py: with Redis only
            continue
        row = run(handler, make, args.count)
        print(
            f"{name:20} {row['wall_ms']:6.2f} ms/request, {row['cpu_ms']:6.2f} ms of it CPU, "
            f"{row['queries']:4.1f} queries",
            flush=True,
        )
        if args.sql:
            print("".join(f"    {sql}\n" for sql in row["sql"]))
    if args.profile:
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        run(handler, paths[args.profile], args.count)
        profiler.disable()
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
