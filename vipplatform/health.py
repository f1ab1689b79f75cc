"""What the background work depends on, as the metrics and the staff overview show it: the
shared cache, the Celery broker, and when a job last succeeded on a worker. Each check answers
within a quarter of a second; None where the platform is not configured to use the thing.

`/readyz` does not ask these: a server stays in rotation while a worker or the broker is
down (it still takes payments); the alerts and the overview say so instead."""

from datetime import datetime

import redis
from django.conf import settings
from django.core.cache import cache
from django.db.models import Max

TIMEOUT_SECONDS = 0.25


def cache_up() -> bool | None:
    """Whether the shared cache answers; None with the per-process memory cache."""
    available = getattr(cache, "available", None)
    return None if available is None else available()


def broker_up() -> bool | None:
    """Whether the Celery broker (Redis) answers; None in eager mode (no broker)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return None
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return None
    client = redis.Redis.from_url(
        url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
    )
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def last_job_success() -> datetime | None:
    """When a periodic job last succeeded on a worker: the workers' heartbeat (the every-minute
    jobs succeed every minute while a worker and beat run)."""
    from .models import JobRun

    return JobRun.objects.aggregate(last=Max("last_success_at"))["last"]
