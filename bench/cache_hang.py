"""What a Redis that hangs (SIGSTOP) costs the requests: gunicorn with 4 workers and the read
cache on a Redis of this script's own, status polls and current-user reads from 8 threads for
`--seconds` while Redis is stopped, /readyz asked every second, then Redis resumed.

Prints the median and worst request, the slowest /readyz, and the cache's log lines per
minute (docs/operations.md, "When Redis fails").

    .venv/bin/python bench/cache_hang.py [--root DIR]   # DIR: the checkout to serve
"""

import argparse
import http.cookiejar
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from tests.servers import OwnRedis, answers, free_port, wait_until  # noqa: E402
from tests.takeover import sitedb  # noqa: E402

THREADS = 8


class Client:
    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def call(self, method: str, path: str, body=None):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"}
        token = next((c.value for c in self.jar if c.name == "XSRF-TOKEN"), None)
        if token:
            headers["X-XSRF-TOKEN"] = token
        request = urllib.request.Request(self.base + path, data, headers, method=method)
        with self.opener.open(request, timeout=60) as response:
            return json.loads(response.read())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=HERE, help="the checkout to serve")
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()

    name = f"bench_cache_hang_{os.getpid()}"
    sitedb.create(name, schema=False).close()
    redis = OwnRedis()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PAYMENT_"))}
    env.update(
        DATABASE_URL=sitedb.url(name),
        DJANGO_DEBUG="true",
        PAYMENT_SANDBOX="true",
        PAYMENT_SANDBOX_DELIVERY="false",
        CACHE_URL=redis.url(0),
        SITE_URL=url,
        LOG_LEVEL="WARNING",
    )
    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=args.root, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if migrated.returncode:
        print(migrated.stderr, file=sys.stderr)
        return 1
    log_path = Path(f"/tmp/{name}.log")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", f"--bind=127.0.0.1:{port}",
         "--workers=4", "--timeout=60"],
        cwd=args.root, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        assert wait_until(lambda: answers(f"{url}/healthz"), timeout=30), "gunicorn did not start"
        clients = []
        for i in range(THREADS):
            client = Client(url)
            body = {"username": f"hang{i}", "password": "Hang-pass-1", "email": f"h{i}@e.com"}
            client.call("POST", "/api/users/register", body)
            client.call("POST", "/api/users/login", {"username": body["username"],
                                                     "password": body["password"]})  # fmt: skip
            client.call("GET", "/api/users/current")
            order = client.call(
                "POST",
                "/api/payment/generate-qrcode",
                {"userId": client.call("GET", "/api/users/current")["data"]["id"],
                 "planId": 1, "amount": 29.9, "paymentMethod": 2},
            )  # fmt: skip
            clients.append((client, order["orderId"]))

        before_log = log_path.read_text()
        redis.pause()
        started = time.monotonic()
        latencies: list[float] = []
        ready: list[float] = []
        stop = threading.Event()

        def poll(client, number):
            while not stop.is_set():
                for path in (f"/api/payment/status/{number}", "/api/users/current"):
                    begun = time.monotonic()
                    client.call("GET", path)
                    latencies.append(time.monotonic() - begun)

        def probe():
            while not stop.is_set():
                begun = time.monotonic()
                urllib.request.urlopen(f"{url}/readyz", timeout=60).read()
                ready.append(time.monotonic() - begun)
                time.sleep(1)

        threads = [threading.Thread(target=poll, args=pair) for pair in clients]
        threads.append(threading.Thread(target=probe))
        for thread in threads:
            thread.start()
        time.sleep(args.seconds)
        stop.set()
        for thread in threads:
            thread.join()
        hung = time.monotonic() - started
        redis.resume()
        time.sleep(12)  # past the circuit's period: each worker tries Redis again
        for client, number in clients:
            client.call("GET", f"/api/payment/status/{number}")
        log = log_path.read_text()[len(before_log) :]
    finally:
        redis.resume()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        redis.stop()
        sitedb.drop(name)

    unavailable = log.count("cache unavailable")
    again = log.count("cache answers again")
    print(f"Redis stopped (SIGSTOP) for {hung:.0f} s under {THREADS} polling threads, 4 workers:")
    print(f"  requests: {len(latencies)}, median {statistics.median(latencies) * 1000:.0f} ms, "
          f"worst {max(latencies) * 1000:.0f} ms")  # fmt: skip
    print(f"  /readyz: {len(ready)} probes, slowest {max(ready) * 1000:.0f} ms")
    print(f"  log: 'cache unavailable' {unavailable}, 'cache answers again' {again} "
          f"(per minute of outage: {(unavailable + again) * 60 / hung:.1f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
