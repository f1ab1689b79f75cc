"""Production settings, checked in a subprocess with the README's production environment."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GATEWAY_SECRET = "gw-" + secrets.token_hex(16)


def production_env(tmp_path, **overrides) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PAYMENT_", "DATABASE_URL", "LOG_"))
    }
    env.update(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="vip.example.com,testserver",
        DJANGO_BEHIND_PROXY="true",
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        PAYMENT_CALLBACK_SECRET=GATEWAY_SECRET,
        PAYMENT_SANDBOX="false",
    )
    env.update(overrides)
    return env


def manage(env, *args, check=False):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


def test_the_documented_production_environment_passes_the_deploy_checks(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_sandbox_mode_in_production_fails_the_deploy_checks_and_warns(tmp_path):
    env = production_env(tmp_path, PAYMENT_CALLBACK_SECRET="", PAYMENT_SANDBOX="true")
    result = manage(env, "check", "--deploy")
    assert result.returncode != 0
    assert "payments.E001" in result.stderr
    assert "payments.E002" in result.stderr
    assert "sandbox" in result.stderr.lower()  # the warning logged at start
    assert "callbacks are NOT verified (no PAYMENT_CALLBACK_SECRET)" in result.stderr


def test_the_sandbox_warning_says_callbacks_are_verified_when_they_are(tmp_path):
    """The probe: it warned "not verified" with PAYMENT_CALLBACK_SECRET set."""
    env = production_env(tmp_path, PAYMENT_SANDBOX="true")  # the secret stays set
    result = manage(env, "check")
    assert "gateway callbacks are verified (PAYMENT_CALLBACK_SECRET is set)" in result.stderr
    assert "NOT verified" not in result.stderr


@pytest.mark.parametrize("key", ["", "django-insecure-local-development-only"])
def test_debug_off_without_a_real_secret_key_refuses_to_serve(tmp_path, key):
    result = subprocess.run(
        [sys.executable, "-c", "import config.wsgi"],
        cwd=ROOT,
        env=production_env(tmp_path, DJANGO_SECRET_KEY=key),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


SCRIPT = """
import json
from rest_framework.test import APIClient
from payments.gateways.contract import signed_headers
from payments.models import VipPlan, VipOrder
from users.models import User
from datetime import timedelta
from django.utils import timezone

user = User.objects.create_user(username="prod", password="x-Passw0rd-1")
now = timezone.now()
plan = VipPlan.objects.get(pk=1)
order = VipOrder.objects.create(
    user=user, plan=plan, plan_name=plan.name, plan_days=plan.days, amount=plan.price,
    payment_method=0, create_time=now, expire_time=now + timedelta(minutes=30),
)
body = json.dumps({"orderId": order.order_number, "status": "SUCCESS"}).encode()
client = APIClient()
response = client.post("/api/payment/callback", data=body, content_type="application/json",
                       headers=signed_headers(body=body), secure=True)
assert response.status_code == 200, response.content
import logging
logging.getLogger("payments.services").warning("leak check %s", "{secret}")
print("ORDER", order.order_number)
"""


def test_payment_log_lines_are_json_and_never_contain_secrets(tmp_path):
    env = production_env(tmp_path)
    manage(env, "migrate", "--noinput", check=True)
    result = manage(env, "shell", "-c", SCRIPT.replace("{secret}", GATEWAY_SECRET))
    assert result.returncode == 0, result.stderr
    order_number = result.stdout.split("ORDER ")[1].strip()
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    payment_lines = [line for line in lines if line["logger"].startswith("payments")]
    assert any(
        order_number in line["message"] and "user=" in line["message"] for line in payment_lines
    )
    assert {"time", "level", "logger", "message"} <= set(payment_lines[0])
    assert GATEWAY_SECRET not in result.stderr
    assert env["DJANGO_SECRET_KEY"] not in result.stderr
    assert any("[redacted]" in line["message"] for line in lines)


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_probes_are_not_redirected_to_https(path, tmp_path):
    env = production_env(tmp_path)
    manage(env, "migrate", "--noinput", check=True)
    script = f"from django.test import Client; r = Client().get('{path}'); print(r.status_code)"
    result = manage(env, "shell", "-c", script)
    assert result.stdout.strip().splitlines()[-1] == "200", result.stderr


def test_a_command_creates_the_metrics_directory_it_writes_to(tmp_path):
    """With PROMETHEUS_MULTIPROC_DIR set and not yet made (before gunicorn's first start),
    `manage.py migrate` and the Celery worker must still start."""
    directory = tmp_path / "not-yet" / "metrics"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_DEBUG": "true", "PROMETHEUS_MULTIPROC_DIR": str(directory),
             "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert directory.is_dir()


def test_collectstatic_with_the_production_storage(settings, tmp_path):
    """What `manage.py collectstatic` does before a deploy: every file found, every reference
    between them resolved (the manifest storage refuses one to a missing file)."""
    from django.core.management import call_command

    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    assert "vendor/chartjs/chart.umd.min.js" in manifest
    assert "vip/overview.js" in manifest
