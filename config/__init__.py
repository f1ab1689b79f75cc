"""The composition root: what assembles the apps into one site (settings by concern, URLs, the
Celery app, the overview, monitoring and search that read both apps). Nothing imports it but
Django's entry points (`manage.py`, WSGI/ASGI, Celery) and the tests; the apps stand on the
kernel, `vipplatform`, which never imports an app."""

# The Celery app is loaded with Django, so `shared_task` binds to it (Celery's Django recipe).
from .celery import app as celery_app

__all__ = ["celery_app"]
