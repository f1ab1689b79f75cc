from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_payment_sandbox_off(app_configs, **kwargs):
    if settings.DEBUG:
        return []
    from .gateways import configured_providers, settings_hints
    from .models import PaymentMethod

    errors = []
    real = [p for p in configured_providers() if not p.simulated]
    if not any(provider.serves(method) for provider in real for method in PaymentMethod.values):
        errors.append(
            Error(
                "No payment provider is configured: no order can be paid.",
                hint=f"Configure one: {settings_hints()}.",
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


@register(Tags.security, deploy=True)
def check_payment_providers(app_configs, **kwargs):
    """Each provider's own checks of its settings (`Provider.check_settings`)."""
    from .gateways import provider_classes

    return [error for cls in provider_classes() for error in cls.check_settings()]
