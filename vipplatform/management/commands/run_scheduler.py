"""The periodic jobs in one long-running process, for a single-host deployment.

Payments are reconciled with the gateway every 5 minutes (before orders expire, so a paid
order is found while it is still pending), orders and memberships are expired every minute
(the site's other services read only `is_vip`), and failed VIP grants retried every 5
minutes, backing off (doubling up to an hour) while some keep failing. SIGTERM or SIGINT
stops it between jobs. Those who prefer cron run the three commands instead (see the README).
"""

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from payments.notifications import notifications_prune
from payments.services import order_expire_overdue, order_retry_failed_grants, orders_reconcile
from users.services import vip_expire_due

logger = logging.getLogger(__name__)


@dataclass
class Job:
    """`work` answers a summary for the log, and whether to back off before the next run."""

    name: str
    work: Callable[[], tuple[str, bool]]
    interval: float
    max_interval: float | None = None  # None: never back off
    delay: float = field(init=False)
    next_run: float = 0.0

    def __post_init__(self) -> None:
        self.delay = self.interval

    def schedule_next(self, now: float, *, back_off: bool) -> None:
        if back_off and self.max_interval:
            self.delay = min(self.delay * 2, self.max_interval)
        else:
            self.delay = self.interval
        self.next_run = now + self.delay


def expire_orders() -> tuple[str, bool]:
    return f"expired {order_expire_overdue()} orders", False


def expire_vips() -> tuple[str, bool]:
    return f"expired {vip_expire_due()} memberships", False


def retry_vip_grants() -> tuple[str, bool]:
    granted, failing = order_retry_failed_grants()
    return f"granted {granted}, still failing {failing}", failing > 0


def reconcile_payments() -> tuple[str, bool]:
    return "checked {checked}, paid {paid}, failed {failed}, errors {errors}".format(
        **orders_reconcile()
    ), False


def prune_notifications() -> tuple[str, bool]:
    return f"deleted {notifications_prune()} refused notifications", False


def default_jobs() -> list[Job]:
    return [
        Job("reconcile_payments", reconcile_payments, interval=300),
        Job("expire_orders", expire_orders, interval=60),
        # Every minute: the site's other services read only `is_vip`, not the expiry.
        Job("expire_vips", expire_vips, interval=60),
        Job("retry_vip_grants", retry_vip_grants, interval=300, max_interval=3600),
        Job("prune_notifications", prune_notifications, interval=86400),
    ]


class Scheduler:
    def __init__(self, jobs: list[Job], *, clock: Callable[[], float] = time.monotonic) -> None:
        self.jobs = jobs
        self.clock = clock
        self.stopping = threading.Event()

    def run_due(self) -> None:
        for job in self.jobs:
            if self.stopping.is_set():
                return
            if self.clock() >= job.next_run:
                self._run(job)

    def _run(self, job: Job) -> None:
        started = self.clock()
        close_old_connections()  # a database restarted since the last run is reconnected
        try:
            summary, back_off = job.work()
        except Exception:
            logger.exception("job %s failed", job.name)
            summary, back_off = "failed", True
        finally:
            close_old_connections()
        now = self.clock()
        job.schedule_next(now, back_off=back_off)
        logger.info("job %s: %s in %.2fs; next in %ss", job.name, summary, now - started, job.delay)

    def run_forever(self) -> None:
        logger.info("scheduler started: %s", ", ".join(job.name for job in self.jobs))
        while not self.stopping.is_set():
            self.run_due()
            wait = min(job.next_run for job in self.jobs) - self.clock()
            self.stopping.wait(timeout=max(wait, 0.1))
        logger.info("scheduler stopped")

    def stop(self, *args) -> None:
        self.stopping.set()


class Command(BaseCommand):
    help = "Run the periodic jobs (expire orders and memberships, retry VIP grants) until SIGTERM."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run every job once and exit")

    def handle(self, *args, once: bool = False, **options):
        scheduler = Scheduler(default_jobs())
        if once:
            scheduler.run_due()
            return
        signal.signal(signal.SIGTERM, scheduler.stop)
        signal.signal(signal.SIGINT, scheduler.stop)
        scheduler.run_forever()
