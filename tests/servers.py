"""Real servers for the tests that need one: gunicorn serving a database of the test's choice."""

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def env_on_test_database(**extra) -> dict:
    """The environment of a process serving the test database (this run's MariaDB one), in
    the development settings, without the PAYMENT_* and DJANGO_* values this run was given."""
    from django.db import connection

    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYMENT_", "DJANGO_"))}
    env.update(
        DATABASE_URL=f"mysql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306}/"
        f"{db['NAME']}",
        DJANGO_DEBUG="true",
        PAYMENT_SANDBOX="true",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    (ROOT / "artifacts").mkdir(exist_ok=True)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class Gunicorn:
    def __init__(self, *, workers: int, env: dict, options: tuple[str, ...] = ()):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(ROOT / "artifacts" / f"gunicorn-{self.port}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                *self.options(workers),
                *options,
            ],
            cwd=ROOT,
            env={"SITE_URL": self.url, **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        if not wait_until(lambda: answers(f"{self.url}/healthz"), timeout=30):
            self.stop()
            pytest.fail(f"gunicorn did not start: see {self.log.name}")

    def options(self, workers: int) -> list[str]:
        return [
            f"--bind=127.0.0.1:{self.port}",
            f"--workers={workers}",
            "--timeout=30",
            "--graceful-timeout=5",
        ]

    def worker_pids(self) -> list[int]:
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        )
        return [int(pid) for pid in out.stdout.split()]

    def log_text(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


class Browser:
    """Cookies, the CSRF token echoed as axios does, JSON or form posts, no redirects."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect()
        )

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)

    def request(self, method: str, path: str, *, json_body=None, form=None):
        headers = {"Referer": self.base + "/"}
        data = None
        if json_body is not None:
            data, headers["Content-Type"] = json.dumps(json_body).encode(), "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookie("XSRF-TOKEN"):
            headers["X-XSRF-TOKEN"] = self.cookie("XSRF-TOKEN")
        request = urllib.request.Request(self.base + path, data, headers, method=method)
        try:
            response = self.opener.open(request, timeout=30)
        except urllib.error.HTTPError as error:
            response = error
        body = response.read().decode()
        return response.status, response.headers, body

    def api(self, method: str, path: str, body=None):
        status, _, text = self.request(method, path, json_body=body)
        return status, json.loads(text)

    def form_login(self, path: str, username: str, password: str) -> tuple[int, str]:
        _, _, page = self.request("GET", path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        status, headers, _ = self.request(
            "POST",
            path,
            form={"csrfmiddlewaretoken": token, "username": username, "password": password},
        )
        return status, headers.get("Location", "")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class OwnRedis:
    """A redis-server of the tests' own, on a free port: the machine's Redis is never
    flushed, paused or stopped by a test."""

    def __init__(self):
        self.port = free_port()
        self.process = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        assert wait_until(self.answers, timeout=10), "redis-server did not start"

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def pause(self) -> None:  # a Redis that hangs: every call runs into the socket timeout
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def url(self, database: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{database}"
