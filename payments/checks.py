from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_payment_sandbox_off(app_configs, **kwargs):
    if settings.DEBUG:
        return []
    errors = []
    if not settings.PAYMENT_CALLBACK_SECRET:
        errors.append(
            Error(
                "PAYMENT_CALLBACK_SECRET is not set: no gateway callback can be verified.",
                hint="Set PAYMENT_CALLBACK_SECRET to the secret shared with the payment gateway.",
                id="payments.E001",
            )
        )
    if settings.PAYMENT_SANDBOX:
        errors.append(
            Error(
                "PAYMENT_SANDBOX is on: the simulated payment buttons are exposed.",
                hint="Set PAYMENT_SANDBOX=false in production.",
                id="payments.E002",
            )
        )
    return errors
