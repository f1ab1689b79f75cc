"""The periodic jobs: what Celery beat sends, and how often.

The schedules live in django-celery-beat's tables, where staff see them in the admin (last run,
runs so far) and can pause one. `migrate` installs any job below that is missing and leaves the
ones already there as staff left them. Beat runs once per site; the tasks run on any worker.
Each job's work is a service function, also run by hand with its management command.
"""

from dataclasses import dataclass

from django.db import transaction


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
        "and expiry.",
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
