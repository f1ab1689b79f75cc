"""Django's own settings: security, apps, the database, caches, auth, languages, static files.
Read from the environment (docs/operations.md has the table).

They fail closed: with nothing set, DEBUG is off, the payment sandbox is off and a real secret
key is required. `bin/run` (the quick start) and `bin/test` set the development values.
"""

from pathlib import Path

import environ
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)

DEV_SECRET_KEY = "django-insecure-local-development-only"
# Required to serve (`config.wsgi` refuses to start without a real one when DEBUG is off);
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

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
