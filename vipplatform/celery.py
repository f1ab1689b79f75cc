"""The project's Celery app: background jobs, retries and members' emails.

With `CELERY_BROKER_URL` set (Redis in production) tasks go to the broker and run on the
workers; beat sends the periodic ones. Without it tasks run in-process the moment they are sent
(Celery's eager mode), so the quick start needs no broker. Settings are the `CELERY_*` names in
`vipplatform.settings`.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vipplatform.settings")

app = Celery("vipplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
