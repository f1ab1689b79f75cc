"""The payment providers, one module each, and which one serves an order.

An order's provider follows its payment method: WeChat Pay (0) and Alipay (1) when their
`WECHATPAY_*` / `ALIPAY_*` settings are complete; otherwise the sandbox in sandbox mode, or the
contract's HMAC gateway when `PAYMENT_CALLBACK_SECRET` is set; otherwise none, and the method is
not offered. Providers are built once per configuration and kept (their HTTP connections too).
"""

from functools import cache

from django.conf import settings

from ..models import PaymentMethod
from .alipay import AlipayConfig, AlipayProvider
from .base import Notification, PaymentAlreadyMade, PaymentReport, Provider
from .contract import ContractProvider
from .sandbox import SandboxProvider
from .wechat import WeChatPayConfig, WeChatPayProvider

__all__ = [
    "Notification",
    "PaymentAlreadyMade",
    "PaymentReport",
    "Provider",
    "available_methods",
    "provider_for",
    "provider_named",
]

NOTIFY_PATH = "/api/payment/notify/{name}"


def _notify_url(name: str) -> str:
    return settings.PAYMENT_NOTIFY_BASE_URL.rstrip("/") + NOTIFY_PATH.format(name=name)


def wechat_config() -> WeChatPayConfig | None:
    """The WeChat Pay settings when every required one is set, else None."""
    values = [
        settings.WECHATPAY_MCHID,
        settings.WECHATPAY_APPID,
        settings.WECHATPAY_APIV3_KEY,
        settings.WECHATPAY_PRIVATE_KEY,
        settings.WECHATPAY_CERT_SERIAL,
        settings.WECHATPAY_PUBLIC_KEY,
        settings.WECHATPAY_PUBLIC_KEY_ID,
    ]
    if not all(values) or not settings.PAYMENT_NOTIFY_BASE_URL:
        return None
    return WeChatPayConfig(
        *values,
        base_url=settings.WECHATPAY_BASE_URL,
        notify_url=_notify_url("wechat"),
        timeout=settings.PAYMENT_PROVIDER_TIMEOUT_SECONDS,
    )


def alipay_config() -> AlipayConfig | None:
    values = [settings.ALIPAY_APP_ID, settings.ALIPAY_PRIVATE_KEY, settings.ALIPAY_PUBLIC_KEY]
    if not all(values) or not settings.PAYMENT_NOTIFY_BASE_URL:
        return None
    return AlipayConfig(
        *values,
        gateway_url=settings.ALIPAY_GATEWAY_URL,
        seller_id=settings.ALIPAY_SELLER_ID,
        notify_url=_notify_url("alipay"),
        timeout=settings.PAYMENT_PROVIDER_TIMEOUT_SECONDS,
    )


@cache
def _wechat(config: WeChatPayConfig) -> WeChatPayProvider:
    return WeChatPayProvider(config)


@cache
def _alipay(config: AlipayConfig) -> AlipayProvider:
    return AlipayProvider(config)


def provider_named(name: str) -> Provider | None:
    """The provider whose notifications arrive at `/api/payment/notify/<name>` (or, for
    `contract` and `sandbox`, at the contract's callback), if it is configured."""
    if name == "wechat":
        config = wechat_config()
        return _wechat(config) if config else None
    if name == "alipay":
        config = alipay_config()
        return _alipay(config) if config else None
    if name == "sandbox":
        return SandboxProvider() if settings.PAYMENT_SANDBOX else None
    if name == "contract":
        return ContractProvider()
    return None


def callback_provider() -> ContractProvider:
    """Who reads `/api/payment/callback`: the contract's format, the sandbox's too."""
    return SandboxProvider() if settings.PAYMENT_SANDBOX else ContractProvider()


def provider_for(payment_method: int) -> Provider | None:
    """The provider that serves orders paid with `payment_method`; None: not offered."""
    real = {PaymentMethod.WECHAT: "wechat", PaymentMethod.ALIPAY: "alipay"}.get(payment_method)
    provider = provider_named(real) if real else None
    if provider is not None:
        return provider
    if settings.PAYMENT_SANDBOX:
        return SandboxProvider()
    if settings.PAYMENT_CALLBACK_SECRET:
        return ContractProvider()
    return None


def available_methods() -> list[int]:
    return [method for method in PaymentMethod.values if provider_for(method) is not None]
