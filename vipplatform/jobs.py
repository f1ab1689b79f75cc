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
        "每5分钟，在订单过期之前：支付通知丢失的订单在仍待支付时就能查到已付款。"
        "手动运行：manage.py reconcile_payments",
    ),
    "订单日汇总：新的一天与昨天": Job(
        "payments.tasks.refresh_order_totals",
        300,
        "统计今天以前每一天的订单（每天一次），并重算昨天（零点前的订单可能在零点后支付），"
        "供订单统计和运营概览读取。手动运行：manage.py count_orders",
    ),
    "订单日汇总：全部重算": Job(
        "payments.tasks.recount_order_totals",
        86400,
        "每天重算全部日汇总：站点的其他程序用自己的SQL修改旧订单时，汇总随之更正。"
        "手动运行：manage.py count_orders --all",
    ),
    "过期未支付订单": Job(
        "payments.tasks.expire_orders",
        60,
        "把超过支付截止时间的待支付订单标为已过期。手动运行：manage.py expire_orders",
    ),
    "关闭到期会员": Job(
        "users.tasks.expire_vips",
        60,
        "每分钟：站点的其他服务只读 is_vip，不看到期时间。手动运行：manage.py expire_vips",
    ),
    "加密其他程序写入的明文密码": Job(
        "users.tasks.hash_plain_passwords",
        60,
        "每分钟：接管后其他程序（切换期间的旧用户服务）按原样写入的密码在此加密；"
        "用户登录时也会立即加密。手动运行：manage.py hash_plain_passwords",
    ),
    "重试失败的VIP开通": Job(
        "payments.tasks.retry_vip_grants",
        3600,
        "每个开通失败的订单各自重试（1、2、4……分钟，之后每小时）之外的兜底。"
        "手动运行：manage.py retry_vip_grants",
    ),
    "会员到期提醒与到期通知邮件": Job(
        "users.tasks.send_membership_notices",
        300,
        "到期前 VIP_REMINDER_DAYS 天提醒、到期后通知，每位会员每个到期时间各一次；"
        "并补发支付后未发出的支付成功邮件（消息队列曾不可用）。",
    ),
    "统计有效会员数": Job(
        "users.tasks.record_active_members",
        3600,
        "记录今天的有效会员数，供运营概览的会员趋势图使用。",
    ),
    "清理过期的限流计数": Job(
        "vipplatform.tasks.prune_throttle_counts",
        3600,
        "限流计数存在数据库时（未配置 CACHE_URL），删除窗口已过的计数；使用Redis时没有。",
    ),
    "清理被拒绝的支付通知": Job(
        "payments.tasks.prune_notifications",
        86400,
        "删除超过保留期的被拒绝支付通知。手动运行：manage.py prune_notifications",
    ),
}


def _interval(seconds: int):
    """`seconds` in the largest whole unit (1 day, not 86400 seconds: the admin shows it)."""
    from django_celery_beat.models import IntervalSchedule

    for size, period in ((86400, IntervalSchedule.DAYS), (3600, IntervalSchedule.HOURS),
                         (60, IntervalSchedule.MINUTES)):  # fmt: skip
        if seconds % size == 0:
            return seconds // size, period
    return seconds, IntervalSchedule.SECONDS


def install_schedules(*, using: str = "default", **kwargs) -> None:
    """Add the jobs missing from django-celery-beat's tables and bring the descriptions up to
    date (a `post_migrate` receiver). An interval staff did not change moves to its largest
    whole unit. Celery's own `celery.backend_cleanup` goes: there is no result backend."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    with transaction.atomic(using=using):
        tasks = PeriodicTask.objects.using(using)
        tasks.filter(name="celery.backend_cleanup").delete()
        for name, job in JOBS.items():
            every, period = _interval(job.every_seconds)
            interval, _ = IntervalSchedule.objects.using(using).get_or_create(
                every=every, period=period
            )
            existing = tasks.filter(name=name).first()
            if existing is None:
                tasks.create(
                    name=name, task=job.task, interval=interval, description=job.description
                )
                continue
            # The description is ours and follows the code; the rest is as staff left it.
            existing.description = job.description
            if existing.interval_id and (existing.interval.every, existing.interval.period) == (
                job.every_seconds,
                IntervalSchedule.SECONDS,
            ):
                existing.interval = interval
            existing.save(update_fields=["description", "interval"])


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
