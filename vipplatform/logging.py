"""Logging pieces: secrets never reach a log line, whatever the code above logs."""

import logging
import re

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

REDACTED = "[redacted]"
# The old front end sends passwords as query parameters (PUT /api/users/password?oldPassword=),
# which access logs would otherwise keep.
PASSWORD_PARAMETER = re.compile(r"((?:old|new)?password=)[^&\s\"']*", re.IGNORECASE)


def redact_passwords(text: str) -> str:
    """`text` with the value of every password parameter replaced."""
    return PASSWORD_PARAMETER.sub(rf"\1{REDACTED}", text)


def _secret_key() -> str:
    try:
        return settings.SECRET_KEY
    except ImproperlyConfigured:  # empty: a command that signs nothing runs without one
        return ""


class RedactSecretsFilter(logging.Filter):
    """Replace the configured secrets (Django's key, the gateway secret) and password query
    parameters in every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = [
            secret
            for secret in (_secret_key(), settings.PAYMENT_CALLBACK_SECRET)
            if secret and len(secret) >= 8
        ]
        message = record.getMessage()
        redacted = redact_passwords(message)
        for secret in secrets:
            redacted = redacted.replace(secret, REDACTED)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
