"""The project's Celery app: background jobs, retries and members' emails.

With `CELERY_BROKER_URL` set (Redis in production) tasks go to the broker and run on the
workers; beat sends the periodic ones. Without it tasks run in-process the moment they are sent
(Celery's eager mode), so the quick start needs no broker. Settings are the `CELERY_*` names in
`config.settings`.
"""

import logging
import os

from celery import Celery
from celery import Task as CeleryTask

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

logger = logging.getLogger(__name__)


class Task(CeleryTask):
    """Celery's task, but in eager mode nothing meant for later runs now.

    Eager mode runs a task, and each of its retries, at once inside whoever sent it (a request
    cancelling an order, a payment's answer): a retry fails the task instead, and a task sent
    with a delay (`countdown`, `eta`) is not run. Without a broker there is no later; the
    periodic sweeps take the work up again.
    """

    eager_retries = False

    def apply_async(self, args=None, kwargs=None, **options):
        if self.app.conf.task_always_eager and (options.get("countdown") or options.get("eta")):
            logger.info("eager mode: %s sent for later is left to the periodic jobs", self.name)
            return None
        return super().apply_async(args, kwargs, **options)

    def retry(self, *args, exc=None, **kwargs):
        if self.request.is_eager and not self.eager_retries:
            if exc is not None:
                raise exc
            raise self.MaxRetriesExceededError("no retries in eager mode")
        return super().retry(*args, exc=exc, **kwargs)


app = Celery("vipplatform", task_cls=Task)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
