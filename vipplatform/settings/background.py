"""Background work (Celery, the beat schedule, the grant retries) and members' emails."""

from .base import DEBUG, TIME_ZONE, env

# --- Background work (Celery) and members' emails ----------------------------------------

# The broker (Redis in production: redis://host:6379/0). Without one, tasks run in-process the
# moment they are sent (eager mode): the quick start needs no broker, and `bin/run`'s beat then
# runs each job itself.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    CELERY_BROKER_URL = "memory://localhost/"  # beat connects to one, and sends nothing to it
CELERY_TASK_EAGER_PROPAGATES = False  # an eager task's failure is logged, never a request's 500
CELERY_TASK_IGNORE_RESULT = True  # no result backend: tasks record their work in the database
CELERY_RESULT_EXPIRES = None  # and so beat adds no `celery.backend_cleanup` job
# A task is acknowledged when it has finished, so a worker that dies mid-task hands it to
# another: every task is safe to run twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
# Sending a task gives up quickly when the broker is down or hangs: it is sent from a request,
# after the payment has committed, and the periodic sweeps pick up what was not sent. Without a
# socket timeout a publish to a Redis that hangs would wait forever.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_TIMEOUT_SECONDS", default=2.0)
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redis hands an unacknowledged message to another worker after this; it must exceed the
    # longest retry delay (VIP_GRANT_RETRY_MAX_SECONDS), or a waiting retry would run twice.
    "visibility_timeout": 2 * 3600,
    "socket_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # the LOGGING below, JSON lines in production
CELERY_TIMEZONE = TIME_ZONE
# The schedules live in the database (django-celery-beat) and are listed in the admin; the
# defaults are in `vipplatform.jobs`, installed by `migrate`.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# A failed VIP grant is retried after 1, 2, 4 ... minutes, at most an hour apart, this many
# times; the hourly sweep (`retry_vip_grants`) takes over after that.
VIP_GRANT_RETRY_BASE_SECONDS = env.int("VIP_GRANT_RETRY_BASE_SECONDS", default=60)
VIP_GRANT_RETRY_MAX_SECONDS = env.int("VIP_GRANT_RETRY_MAX_SECONDS", default=3600)
VIP_GRANT_RETRY_ATTEMPTS = env.int("VIP_GRANT_RETRY_ATTEMPTS", default=12)

# Members' emails: the console in development, SMTP in production
# (EMAIL_URL=smtp+tls://user:password@smtp.example.com:587).
EMAIL_CONFIG = env.email_url(
    "EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25"
)
vars().update(EMAIL_CONFIG)  # django-environ's recipe: EMAIL_BACKEND, EMAIL_HOST, ...
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="影视VIP会员 <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT_SECONDS", default=20)
# A reminder goes this many days before a membership expires (one per member and expiry).
VIP_REMINDER_DAYS = env.int("VIP_REMINDER_DAYS", default=3)
