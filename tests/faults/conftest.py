"""Fault tests against a real gunicorn serving the test database, with real processes to kill
and a real MariaDB to stop."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import global_settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


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
    def __init__(self, *, workers: int, env: dict):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(ROOT / "artifacts" / f"gunicorn-{self.port}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "vipplatform.wsgi", *self.options(workers)],
            cwd=ROOT,
            env=env,
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

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


@pytest.fixture(autouse=True)
def _real_password_hashers(settings):
    """The server runs with the project's hashers: users made here must match them."""
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS


@pytest.fixture
def gunicorn_env(settings):
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYMENT_", "DJANGO_"))}
    env.update(
        DATABASE_URL=f"mysql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306}/"
        f"{db['NAME']}",
        DJANGO_DEBUG="true",
        PAYMENT_SANDBOX="true",
        LOG_LEVEL="WARNING",
    )
    (ROOT / "artifacts").mkdir(exist_ok=True)
    return env


@pytest.fixture
def start_gunicorn(gunicorn_env):
    servers = []

    def start(*, workers: int = 2, **env) -> Gunicorn:
        server = Gunicorn(workers=workers, env={**gunicorn_env, **env})
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
