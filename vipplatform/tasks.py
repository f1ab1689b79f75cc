"""The project's own background work (Celery tasks); `settings.PERIODIC_JOBS` schedules them."""

from celery import shared_task

from . import throttle_store


@shared_task
def prune_throttle_counts() -> int:
    """Expired throttle counts, when they live in the database (a no-op with Redis)."""
    return throttle_store.prune_expired()
