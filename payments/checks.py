from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_payment_sandbox_off(app_configs, **kwargs):
    if settings.DEBUG:
        return []
    from .gateways import alipay_config, wechat_config

    errors = []
    # The contract's HMAC callback is needed only when no real provider takes the payments.
    if not settings.PAYMENT_CALLBACK_SECRET and not (wechat_config() or alipay_config()):
        errors.append(
            Error(
                "No payment provider is configured and PAYMENT_CALLBACK_SECRET is not set: "
                "no order can be paid.",
                hint="Configure WeChat Pay or Alipay (WECHATPAY_*, ALIPAY_*), or set "
                "PAYMENT_CALLBACK_SECRET to the secret shared with a contract gateway.",
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


PROVIDER_SETTINGS = {
    "WeChat Pay": (
        ["WECHATPAY_MCHID", "WECHATPAY_APPID", "WECHATPAY_APIV3_KEY", "WECHATPAY_CERT_SERIAL",
         "WECHATPAY_PUBLIC_KEY_ID"],
        {"WECHATPAY_PRIVATE_KEY": "private", "WECHATPAY_PUBLIC_KEY": "public"},
    ),
    "Alipay": (
        ["ALIPAY_APP_ID"],
        {"ALIPAY_PRIVATE_KEY": "private", "ALIPAY_PUBLIC_KEY": "public"},
    ),
}  # fmt: skip


@register(Tags.security, deploy=True)
def check_payment_providers(app_configs, **kwargs):
    """A provider is all set or not at all: a half-set one would take orders it cannot
    serve, or refuse the notifications of payments it took."""
    from .gateways import keys

    errors = []
    for provider, (values, key_files) in PROVIDER_SETTINGS.items():
        names = [*values, *key_files]
        given = [name for name in names if getattr(settings, name)]
        if not given:
            continue
        missing = [name for name in names if not getattr(settings, name)]
        if missing:
            errors.append(
                Error(
                    f"{provider} is half configured: {', '.join(missing)} not set.",
                    hint=f"Set all of {', '.join(names)}, or none.",
                    id="payments.E010",
                )
            )
        for name, kind in key_files.items():
            path = getattr(settings, name)
            if not path:
                continue
            try:
                (keys.private_key if kind == "private" else keys.public_key)(path)
            except keys.KeyFileError as exc:
                errors.append(Error(f"{name}: {exc}", id="payments.E011"))
        if not settings.PAYMENT_NOTIFY_BASE_URL.startswith("https://"):
            errors.append(
                Error(
                    f"{provider} is configured but PAYMENT_NOTIFY_BASE_URL is not an https "
                    "origin: the provider cannot call back.",
                    hint="Set PAYMENT_NOTIFY_BASE_URL=https://vip.example.com",
                    id="payments.E012",
                )
            )
    apiv3_key = settings.WECHATPAY_APIV3_KEY
    if apiv3_key and len(apiv3_key.encode()) != 32:
        errors.append(
            Error(
                f"WECHATPAY_APIV3_KEY is {len(apiv3_key.encode())} bytes; WeChat Pay's APIv3 "
                "key is 32.",
                id="payments.E013",
            )
        )
    return errors
