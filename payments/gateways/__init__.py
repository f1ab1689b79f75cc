"""The registry of payment providers: the classes named in `settings.PAYMENT_PROVIDERS`, in
that order, each a `Provider` that declares everything about itself (base.py).

An explicit list in settings rather than a signal (pretix's `register_payment_providers`):
the order decides which provider serves a payment method (the first configured one that
serves it: WeChat Pay and Alipay when their settings are complete, then the sandbox in sandbox
mode, then the contract's HMAC gateway when its secret is set), and a deployment reads which
providers it runs in one place. Nothing outside a provider's module names a provider.
"""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from ..models import PaymentMethod
from .base import (
    AgreementReport,
    BillEntry,
    Notification,
    PaymentAlreadyMade,
    PaymentReport,
    Provider,
    RefundReport,
)

__all__ = [
    "AgreementReport",
    "BillEntry",
    "Notification",
    "PaymentAlreadyMade",
    "PaymentReport",
    "Provider",
    "RefundReport",
    "agreement_methods",
    "agreement_provider_for",
    "available_methods",
    "callback_provider",
    "configured_providers",
    "display_name",
    "provider_classes",
    "provider_for",
    "provider_named",
]


@cache
def _classes(paths: tuple[str, ...]) -> tuple[type[Provider], ...]:
    return tuple(import_string(path) for path in paths)


def provider_classes() -> tuple[type[Provider], ...]:
    return _classes(tuple(settings.PAYMENT_PROVIDERS))


def configured_providers() -> list[Provider]:
    """The providers the settings configure, in PAYMENT_PROVIDERS' order."""
    return [p for cls in provider_classes() if (p := cls.from_settings()) is not None]


def provider_named(name: str) -> Provider | None:
    """The configured provider called `name` (its notifications' path and records)."""
    return next((p for p in configured_providers() if p.name == name), None)


def provider_for(payment_method: int) -> Provider | None:
    """The provider that serves orders paid with `payment_method`; None: not offered."""
    return next((p for p in configured_providers() if p.serves(payment_method)), None)


def agreement_provider_for(payment_method: int) -> Provider | None:
    """The provider that signs 连续包月 agreements paid with `payment_method`; None: not
    offered."""
    if payment_method not in (PaymentMethod.WECHAT, PaymentMethod.ALIPAY):
        return None
    provider = provider_for(payment_method)
    return provider if provider is not None and provider.agreements else None


def agreement_methods() -> list[int]:
    """The methods members sign 连续包月 with (WeChat Pay, Alipay) that a provider serves."""
    wanted = (PaymentMethod.WECHAT, PaymentMethod.ALIPAY)
    return [m for m in wanted if agreement_provider_for(m) is not None]


def callback_provider() -> Provider | None:
    """Who reads `/api/payment/callback` (the contract's format)."""
    return next((p for p in configured_providers() if p.reads_callback), None)


def available_methods() -> list[int]:
    return [method for method in PaymentMethod.values if provider_for(method) is not None]


def provider_urls() -> list:
    """The pages the providers serve payers (`Provider.urls`), whether configured or not: a
    provider's own views answer 404 while it is off."""
    from django.urls import include, path

    return [path("", include(cls.urls)) for cls in provider_classes() if cls.urls]


def settings_hints() -> str:
    """The real providers' settings, as an operator is told to set them."""
    real = [cls for cls in provider_classes() if cls.settings_hint and not cls.simulated]
    return ", ".join(cls.settings_hint for cls in real)


def display_name(name: str) -> str:
    """A provider's name as staff read it, configured or not (a record may name one)."""
    names = {cls.name: cls.display_name for cls in provider_classes()}
    return names.get(name, name or "-")
