from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def require_real_secret_key() -> None:
    """The settings fail closed: no server starts on an empty or development secret key
    unless DEBUG is on (`bin/run` turns it on for the quick start). Commands that sign
    nothing, such as `migrate`, do not ask."""
    try:
        key = settings.SECRET_KEY
    except ImproperlyConfigured:  # Django's own refusal of an empty key
        key = ""
    if not settings.DEBUG and key in ("", settings.DEV_SECRET_KEY):
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set to a real secret when DEBUG is off."
        )
