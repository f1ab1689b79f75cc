import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger(__name__)


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "支付"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the deploy check)

        if settings.PAYMENT_SANDBOX and not settings.DEBUG:
            logger.warning("%s", sandbox_warning())
        elif not settings.PAYMENT_CALLBACK_SECRET and not settings.PAYMENT_SANDBOX:
            from .gateways import available_methods, settings_hints

            if not available_methods():
                logger.warning(
                    "No payment provider is configured (%s): no order can be made.",
                    settings_hints(),
                )


def sandbox_warning() -> str:
    """What sandbox mode with DEBUG off means, as it is configured."""
    if settings.PAYMENT_CALLBACK_SECRET:
        verified = "gateway callbacks are verified (PAYMENT_CALLBACK_SECRET is set)"
    else:
        verified = "gateway callbacks are NOT verified (no PAYMENT_CALLBACK_SECRET)"
    return (
        f"Payment sandbox mode with DEBUG off: {verified}, but the sandbox checkout can mark "
        "orders paid without any payment. Set PAYMENT_SANDBOX=false in production."
    )
