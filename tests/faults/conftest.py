"""Fault tests against a real gunicorn serving the test database, with real processes to kill
and a real MariaDB to stop."""

import pytest
from django.conf import global_settings

from ..servers import Gunicorn, env_on_test_database


@pytest.fixture(autouse=True)
def _real_password_hashers(settings):
    """The server runs with the project's hashers: users made here must match them."""
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS


@pytest.fixture
def gunicorn_env(settings):
    return env_on_test_database()


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
