"""The project's Celery app, for the worker `test_celery_worker.py` starts: the same tasks and
settings, with VIP grants that fail the first TEST_GRANT_FAILURES times (to watch retries)."""

import os

from celery.signals import task_prerun

from config.celery import app

__all__ = ["app"]

FAILURES = int(os.environ.get("TEST_GRANT_FAILURES", "0"))
attempts = []


@task_prerun.connect
def make_grants_fail(**kwargs) -> None:
    from users import receivers

    if getattr(receivers.vip_extend, "failing", False):
        return
    real = receivers.vip_extend

    def vip_extend(**grant):
        attempts.append(grant["order_id"])
        if len(attempts) <= FAILURES:
            raise RuntimeError(f"user service down (test, attempt {len(attempts)})")
        return real(**grant)

    vip_extend.failing = True
    receivers.vip_extend = vip_extend
