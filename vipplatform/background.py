"""How a service hands work to the background: by the task's registered name, now or when the
transaction commits. A service never imports its app's tasks (the tasks import the services:
HackSoft's rule, and no import circle)."""

from celery import current_app
from django.db import transaction


def send(task: str, *args, countdown: float | None = None, **kwargs) -> None:
    """Send `task` (its name, "payments.tasks.retry_vip_grant") with these arguments now (run
    at once in eager mode, without a broker)."""
    if task not in current_app.tasks:
        current_app.loader.import_default_modules()  # as a worker does at start
    current_app.tasks[task].apply_async(args, kwargs, countdown=countdown)


def later(task: str, *args, countdown: float | None = None, **kwargs) -> None:
    """`send` when the current transaction commits, at once outside one. A broker that is down
    fails nothing there: Django logs the failed callback (robust), and the jobs' sweeps catch
    up."""

    def send_it() -> None:
        send(task, *args, countdown=countdown, **kwargs)

    send_it.__qualname__ = f"later({task})"  # what Django's log of a failed callback names
    transaction.on_commit(send_it, robust=True)
