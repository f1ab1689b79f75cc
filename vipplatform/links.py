from django.conf import settings


def site_url(path: str) -> str:
    """An absolute link on the platform's public origin (`SITE_URL`): what is stored with an
    order or sent to a gateway is never built from a request's Host header."""
    return settings.SITE_URL.rstrip("/") + path
