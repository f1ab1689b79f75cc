"""The project's Celery app: background jobs, retries and members' emails.

With `CELERY_BROKER_URL` set (Redis in production) tasks go to the broker and run on the
workers; beat sends the periodic ones. Without it tasks run in-process the moment they are sent
(Celery's eager mode), so the quick start needs no broker. Settings are the `CELERY_*` names in
`vipplatform.settings`.
"""

import os

from celery import Celery
from celery import Task as CeleryTask

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vipplatform.settings")


class Task(CeleryTask):
    """Celery's task, but in eager mode a retry fails the task instead of running it again.

    Eager mode runs a retry at once, inside whoever sent the task (a request cancelling an
    order, a payment's answer): no delay, every try in a row, the request waiting on each.
    Without a broker there is no later; the periodic sweeps take the work up again.
    """

    eager_retries = False

    def retry(self, *args, exc=None, **kwargs):
        if self.request.is_eager and not self.eager_retries:
            if exc is not None:
                raise exc
            raise self.MaxRetriesExceededError("no retries in eager mode")
        return super().retry(*args, exc=exc, **kwargs)


app = Celery("vipplatform", task_cls=Task)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
