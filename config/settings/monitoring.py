"""Monitoring (Prometheus) and logging."""

import ipaddress
from pathlib import Path

from .base import DEBUG, env

# --- Monitoring -----------------------------------------------------------------------------

# /metrics answers these addresses (comma-separated addresses or networks), or a request with
# `Authorization: Bearer <METRICS_TOKEN>`; anyone else gets a 404. Under gunicorn, set
# PROMETHEUS_MULTIPROC_DIR to an empty directory (docs/operations.md#monitoring).
METRICS_ALLOWED_NETWORKS = [
    ipaddress.ip_network(network, strict=False)
    for network in env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
]
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# prometheus_client writes there from its first import on, in every process (manage.py too):
# the directory must exist before it does.
if env.str("PROMETHEUS_MULTIPROC_DIR", default=""):
    Path(env.str("PROMETHEUS_MULTIPROC_DIR")).mkdir(parents=True, exist_ok=True)
# Request latencies in seconds: the API answers in milliseconds; pages and the admin slower.
PROMETHEUS_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, float("inf"))

# --- Logging --------------------------------------------------------------------------------

# JSON lines in production (one object per line, for the log shipper); plain text locally.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "vipplatform.logging.RedactSecretsFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "json_ensure_ascii": False,
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # runserver's access lines, through the filter above (query strings may hold passwords)
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
