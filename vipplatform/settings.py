"""Settings, read from the environment (docs/operations.md has the table).

They fail closed: with nothing set, DEBUG is off, the payment sandbox is off and a real secret
key is required. `bin/run` (the quick start) and `bin/test` set the development values.
"""

import ipaddress
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)

DEV_SECRET_KEY = "django-insecure-local-development-only"
# Required to serve (`vipplatform.wsgi` refuses to start without a real one when DEBUG is off);
# commands that sign nothing, such as `migrate`, run without it.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=DEV_SECRET_KEY if DEBUG else "")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_prometheus",
    "vipplatform",
    "vipplatform.readcache",
    "users",
    "payments",
]

# Local fakes of the payment providers (devtools/): for development and the tests only.
if DEBUG or env.bool("FAKE_GATEWAYS", default=False):
    INSTALLED_APPS.append("devtools")

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "vipplatform.middleware.PrivateApiAnswersMiddleware",
    "vipplatform.middleware.DatabaseUnavailableMiddleware",
    "vipplatform.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "vipplatform.urls"
WSGI_APPLICATION = "vipplatform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Datetimes are stored as wall-clock time in this zone, as every service of the site reads and
# writes them (`serverTimezone=Asia/Shanghai`); Django converts on the way in and out.
DATABASES["default"]["TIME_ZONE"] = env.str("DATABASE_TIME_ZONE", default="Asia/Shanghai")
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"charset": "utf8mb4", "isolation_level": "read committed"}
    )
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "vipplatform.readcache.backend.RedisCache"  # fails safe
    # A Redis that does not answer within this is treated as down: the request goes on from
    # the database rather than waiting.
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {
            "socket_connect_timeout": env.float("CACHE_TIMEOUT_SECONDS", default=0.25),
            "socket_timeout": env.float("CACHE_TIMEOUT_SECONDS", default=0.25),
        }
    )
# Throttle counts (logins, sign-ups, orders, e-mail changes) must be shared by every process
# and host, or each worker would grant its own allowance: in the shared cache when there is one,
# else in the database (table `throttle_count`, made by `migrate`; vipplatform/throttle_store.py).
if CACHES["default"]["BACKEND"].endswith("RedisCache"):
    CACHES["throttle"] = {**CACHES["default"], "KEY_PREFIX": "throttle"}
else:
    CACHES["throttle"] = {
        "BACKEND": "vipplatform.throttle_store.DatabaseCounts",
        "LOCATION": "throttle_count",
    }
# After a Redis error, the cache is not called for this long (each call answers at once as a
# miss); then one call pings it briefly (0.1 s). A hung Redis costs a process one brief wait
# per period; an entry an outage left stale may be read for about as long after it.
CACHE_CIRCUIT_SECONDS = env.float("CACHE_CIRCUIT_SECONDS", default=1.0)
# Cache the order-status and session-user reads (and sessions) only in a cache every process
# shares: with the per-process default, one worker could not invalidate another's copy.
READ_CACHE = env.bool("READ_CACHE", default=bool(env.str("CACHE_URL", default="")))

# --- Auth and sessions ----------------------------------------------------------------------

AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = ["users.backends.UserBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 6},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "vip"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=30 * 60)
if READ_CACHE:
    MIDDLEWARE.append("vipplatform.readcache.middleware.ReadAheadMiddleware")
# Sessions are read from the cache when it is shared (written through to the database).
SESSION_ENGINE = "django.contrib.sessions.backends." + ("cached_db" if READ_CACHE else "db")
SESSION_SAVE_EVERY_REQUEST = False

# The old front end uses axios, which echoes the XSRF-TOKEN cookie as X-XSRF-TOKEN.
CSRF_COOKIE_NAME = "XSRF-TOKEN"
CSRF_HEADER_NAME = "HTTP_X_XSRF_TOKEN"

# --- Production hardening (all on when DEBUG is off; overridable behind a proxy) -----------

SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
if env.bool("DJANGO_BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Preloading is a commitment for the whole domain: an operator opts in with the variable above.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# Content-Security-Policy (django-csp) for every page: scripts, styles and frames only from the
# platform itself; images also as data: URIs (Swagger UI's icons) and from SITE_URL (the QR code).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Internationalisation -------------------------------------------------------------------

LANGUAGE_CODE = "zh-hans"
# What Django's and DRF's own catalogs leave in English (the .mo files are committed, compiled
# with `msgfmt`: no gettext needed to run).
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- API ------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["vipplatform.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "vipplatform.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["vipplatform.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "vipplatform.schema.AutoSchema",
    "EXCEPTION_HANDLER": "vipplatform.api.exception_handler",
    "COERCE_DECIMAL_TO_STRING": False,
    "DEFAULT_THROTTLE_RATES": {
        "order_create": env.str("THROTTLE_ORDER_CREATE", default="20/min"),
        "login_address": env.str("THROTTLE_LOGIN_ADDRESS", default="30/min"),
        "login_username": env.str("THROTTLE_LOGIN_USERNAME", default="10/min"),
        "check_username": env.str("THROTTLE_CHECK_USERNAME", default="60/min"),
        "password_change": env.str("THROTTLE_PASSWORD_CHANGE", default="10/min"),
        "register": env.str("THROTTLE_REGISTER", default="10/hour"),
        "email_change": env.str("THROTTLE_EMAIL_CHANGE", default="10/hour"),
        "notification_refused": env.str("THROTTLE_NOTIFICATION_REFUSED", default="30/min"),
    },
    "NUM_PROXIES": env.int("DJANGO_NUM_PROXIES", default=0),
    "DATETIME_FORMAT": "iso-8601",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "影视VIP会员与支付接口",
    "DESCRIPTION": "原支付服务和用户服务的全部 REST 路径（旧前端照常使用），以及管理员的搜索。",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "vipplatform.schema.add_common_error_responses",
        "vipplatform.schema.add_notification_paths",
        "vipplatform.schema.add_parameter_examples",
    ],
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "payments.models.OrderStatus",
        "PaymentMethodEnum": "payments.models.PaymentMethod",
        "GatewayResultEnum": "payments.models.GatewayResult",
    },
}

# --- Payments -------------------------------------------------------------------------------

# The platform's public origin: QR code links stored with orders and the sandbox's notification
# address are built on it, never on a request's Host header.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"].append(SITE_URL.rstrip("/"))

# The secret shared with the gateway. Without it, callbacks are accepted unsigned only in
# sandbox mode (the quick start); otherwise every callback is refused.
# The payment providers, in the order that decides which one serves a payment method (the
# first configured one that serves it): payments.gateways.
PAYMENT_PROVIDERS = [
    "payments.gateways.wechat.WeChatPayProvider",
    "payments.gateways.alipay.AlipayProvider",
    "payments.gateways.sandbox.SandboxProvider",
    "payments.gateways.contract.ContractProvider",
]
PAYMENT_CALLBACK_SECRET = env.str("PAYMENT_CALLBACK_SECRET", default="")
PAYMENT_SANDBOX = env.bool("PAYMENT_SANDBOX", default=False)
PAYMENT_CALLBACK_MAX_SKEW_SECONDS = 300
# The sandbox gateway delivers each payment to our callback; off, only reconciliation finds it.
PAYMENT_SANDBOX_DELIVERY = env.bool("PAYMENT_SANDBOX_DELIVERY", default=True)
# Where the sandbox delivers; by default the callback URL on the host the payer's page came from.
PAYMENT_SANDBOX_NOTIFY_URL = env.str("PAYMENT_SANDBOX_NOTIFY_URL", default="")
# A gateway's notification is a few kilobytes; anything larger is refused unread.
PAYMENT_NOTIFICATION_MAX_BYTES = env.int("PAYMENT_NOTIFICATION_MAX_BYTES", default=64 * 1024)
# Refused notifications (bad signatures) are kept this long; verified ones for good.
PAYMENT_NOTIFICATION_RETENTION_DAYS = env.int("PAYMENT_NOTIFICATION_RETENTION_DAYS", default=30)
PAYMENT_DEADLINE = timedelta(minutes=env.int("PAYMENT_DEADLINE_MINUTES", default=30))

# The real providers (payments/gateways/): each serves its payment method once all its values
# are set; `manage.py check --deploy` fails on one half set. Key settings are PEM file paths.
# PAYMENT_NOTIFY_BASE_URL is the public https origin the providers call back
# (/api/payment/notify/wechat, /api/payment/notify/alipay).
PAYMENT_NOTIFY_BASE_URL = env.str("PAYMENT_NOTIFY_BASE_URL", default="")
PAYMENT_PROVIDER_TIMEOUT_SECONDS = env.float("PAYMENT_PROVIDER_TIMEOUT_SECONDS", default=10.0)
WECHATPAY_MCHID = env.str("WECHATPAY_MCHID", default="")
WECHATPAY_APPID = env.str("WECHATPAY_APPID", default="")
WECHATPAY_APIV3_KEY = env.str("WECHATPAY_APIV3_KEY", default="")
WECHATPAY_PRIVATE_KEY = env.str("WECHATPAY_PRIVATE_KEY", default="")
WECHATPAY_CERT_SERIAL = env.str("WECHATPAY_CERT_SERIAL", default="")
WECHATPAY_PUBLIC_KEY = env.str("WECHATPAY_PUBLIC_KEY", default="")
WECHATPAY_PUBLIC_KEY_ID = env.str("WECHATPAY_PUBLIC_KEY_ID", default="")
WECHATPAY_BASE_URL = env.str("WECHATPAY_BASE_URL", default="https://api.mch.weixin.qq.com")
ALIPAY_APP_ID = env.str("ALIPAY_APP_ID", default="")
ALIPAY_PRIVATE_KEY = env.str("ALIPAY_PRIVATE_KEY", default="")
ALIPAY_PUBLIC_KEY = env.str("ALIPAY_PUBLIC_KEY", default="")
ALIPAY_GATEWAY_URL = env.str("ALIPAY_GATEWAY_URL", default="https://openapi.alipay.com/gateway.do")
ALIPAY_SELLER_ID = env.str("ALIPAY_SELLER_ID", default="")

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

# --- Monitoring -----------------------------------------------------------------------------

# /metrics answers these addresses (comma-separated addresses or networks), or a request with
# `Authorization: Bearer <METRICS_TOKEN>`; anyone else gets a 404. Under gunicorn, set
# PROMETHEUS_MULTIPROC_DIR to an empty directory (docs/operations.md#monitoring).
METRICS_ALLOWED_NETWORKS = [
    ipaddress.ip_network(network, strict=False)
    for network in env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
]
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# prometheus_client writes there from its first import on, in every process (manage.py too):
# the directory must exist before it does.
if env.str("PROMETHEUS_MULTIPROC_DIR", default=""):
    Path(env.str("PROMETHEUS_MULTIPROC_DIR")).mkdir(parents=True, exist_ok=True)
# Request latencies in seconds: the API answers in milliseconds; pages and the admin slower.
PROMETHEUS_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, float("inf"))

# --- Logging --------------------------------------------------------------------------------

# JSON lines in production (one object per line, for the log shipper); plain text locally.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "vipplatform.logging.RedactSecretsFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "json_ensure_ascii": False,
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # runserver's access lines, through the filter above (query strings may hold passwords)
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
