"""The periodic jobs: what Celery beat sends, and how often.

The schedules live in django-celery-beat's tables, where staff see them in the admin (last run,
runs so far) and can pause one. `migrate` installs any job below that is missing and leaves the
ones already there as staff left them. Beat runs once per site; the tasks run on any worker.
Each job's work is a service function, also run by hand with its management command.
"""

import logging
import time
from dataclasses import dataclass

from celery.signals import task_postrun, task_prerun
from django.db import DatabaseError, transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    task: str
    every_seconds: int
    description: str


JOBS = {
    "对账：向支付网关查询未支付订单": Job(
        "payments.tasks.reconcile_payments",
        300,
        "Every 5 minutes, before orders expire, so a payment whose notification was lost is "
        "found while the order is still pending. Command: reconcile_payments.",
    ),
    "过期未支付订单": Job("payments.tasks.expire_orders", 60, "Command: expire_orders."),
    "关闭到期会员": Job(
        "users.tasks.expire_vips",
        60,
        "Every minute: the site's other services read only `is_vip`, not the expiry. "
        "Command: expire_vips.",
    ),
    "加密其他程序写入的明文密码": Job(
        "users.tasks.hash_plain_passwords",
        60,
        "Every minute: a password another program stored as typed after the takeover (the "
        "old user service during a switch-over) is hashed; a login hashes it at once too. "
        "Command: hash_plain_passwords.",
    ),
    "重试失败的VIP开通": Job(
        "payments.tasks.retry_vip_grants",
        3600,
        "The sweep behind each failed grant's own retries (1, 2, 4 ... minutes, then hourly). "
        "Command: retry_vip_grants.",
    ),
    "会员到期提醒与到期通知邮件": Job(
        "users.tasks.send_membership_notices",
        300,
        "Reminders VIP_REMINDER_DAYS before an expiry and a note after it, once per member "
        "and expiry; and the receipts not sent after their payment (the broker was down).",
    ),
    "统计有效会员数": Job(
        "users.tasks.record_active_members",
        3600,
        "Today's count of memberships in force, for the overview's chart of members over time.",
    ),
    "清理过期的限流计数": Job(
        "vipplatform.tasks.prune_throttle_counts",
        3600,
        "Throttle counts whose window has passed, when they live in the database (no "
        "CACHE_URL); with Redis there are none.",
    ),
    "清理被拒绝的支付通知": Job(
        "payments.tasks.prune_notifications", 86400, "Command: prune_notifications."
    ),
}


def install_schedules(*, using: str = "default", **kwargs) -> None:
    """Add the jobs missing from django-celery-beat's tables (a `post_migrate` receiver)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    with transaction.atomic(using=using):
        for name, job in JOBS.items():
            if PeriodicTask.objects.using(using).filter(name=name).exists():
                continue
            interval, _ = IntervalSchedule.objects.using(using).get_or_create(
                every=job.every_seconds, period=IntervalSchedule.SECONDS
            )
            PeriodicTask.objects.using(using).create(
                name=name, task=job.task, interval=interval, description=job.description
            )


# --- the jobs' last runs, for monitoring ------------------------------------------------------

JOB_TASKS = {job.task for job in JOBS.values()}
_started: dict[str, float] = {}


@task_prerun.connect(dispatch_uid="vipplatform.jobs.started")
def _job_started(task_id=None, task=None, **kwargs) -> None:
    if task is not None and task.name in JOB_TASKS:
        _started[task_id] = time.monotonic()


@task_postrun.connect(dispatch_uid="vipplatform.jobs.finished")
def _job_finished(task_id=None, task=None, state=None, **kwargs) -> None:
    started = _started.pop(task_id, None)
    if task is None or started is None:
        return
    job_run_record(task=task.name, succeeded=state == "SUCCESS",
                   duration=time.monotonic() - started)  # fmt: skip


def job_run_record(*, task: str, succeeded: bool, duration: float) -> None:
    """One run of a job: its success time and duration, or its failure time."""
    from django.db.models import F
    from django.utils import timezone

    from .models import JobRun

    now = timezone.now()
    fields = (
        {"last_success_at": now, "last_duration_seconds": round(duration, 3)}
        if succeeded
        else {"last_failure_at": now}
    )
    try:
        updated = JobRun.objects.filter(task=task).update(runs=F("runs") + 1, **fields)
        if not updated:
            JobRun.objects.get_or_create(task=task, defaults={"runs": 1, **fields})
    except DatabaseError:
        logger.exception("could not record the run of %s", task)
