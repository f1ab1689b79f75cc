"""Fault tests against a real gunicorn serving the test database, with real processes to kill
and a real MariaDB to stop."""

import os

import pytest
from django.conf import global_settings
from django.db import connection

from ..servers import ROOT, Gunicorn


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
