"""The periodic jobs' runner: installing `settings.PERIODIC_JOBS` into Celery beat's tables,
and recording each job's last run.

The schedules live in django-celery-beat's tables, where staff see them in the admin (last run,
runs so far) and can pause one. `migrate` installs any listed job that is missing and leaves the
ones already there as staff left them. Beat runs once per site; the tasks run on any worker.
Each job's work is a service function, also run by hand with its management command.
"""

import logging
import time
from dataclasses import dataclass

from celery.signals import task_postrun, task_prerun
from django.conf import settings
from django.db import DatabaseError, transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    task: str
    every_seconds: int
    description: str


def jobs() -> dict[str, Job]:
    """The jobs by name, as `settings.PERIODIC_JOBS` lists them (the composition root knows
    which apps' tasks there are; this module only runs the list)."""
    return {name: Job(**spec) for name, spec in settings.PERIODIC_JOBS.items()}


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
        for name, job in jobs().items():
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

_started: dict[str, float] = {}


@task_prerun.connect(dispatch_uid="vipplatform.jobs.started")
def _job_started(task_id=None, task=None, **kwargs) -> None:
    if task is not None and task.name in {job.task for job in jobs().values()}:
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
