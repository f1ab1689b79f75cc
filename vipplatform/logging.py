"""Logging pieces: secrets never reach a log line, whatever the code above logs."""

import logging

from django.conf import settings

REDACTED = "[redacted]"


class RedactSecretsFilter(logging.Filter):
    """Replace the configured secrets (Django's key, the gateway secret) in every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = [
            secret
            for secret in (settings.SECRET_KEY, settings.PAYMENT_CALLBACK_SECRET)
            if secret and len(secret) >= 8
        ]
        if secrets:
            message = record.getMessage()
            redacted = message
            for secret in secrets:
                redacted = redacted.replace(secret, REDACTED)
            if redacted != message:
                record.msg, record.args = redacted, None
        return True
