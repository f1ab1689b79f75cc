"""Payments: the site's origin, the providers (PAYMENT_PROVIDERS) and their values."""

from datetime import timedelta

from .base import CONTENT_SECURITY_POLICY, env

# --- Payments -------------------------------------------------------------------------------

# The platform's public origin: QR code links stored with orders and the sandbox's notification
# address are built on it, never on a request's Host header.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"].append(SITE_URL.rstrip("/"))

# The payment providers, in the order that decides which one serves a payment method (the
# first configured one that serves it): payments.gateways.
PAYMENT_PROVIDERS = [
    "payments.gateways.wechat.WeChatPayProvider",
    "payments.gateways.alipay.AlipayProvider",
    "payments.gateways.sandbox.SandboxProvider",
    "payments.gateways.contract.ContractProvider",
]
# The secret shared with the gateway. Without it, callbacks are accepted unsigned only in
# sandbox mode (the quick start); otherwise every callback is refused.
PAYMENT_CALLBACK_SECRET = env.str("PAYMENT_CALLBACK_SECRET", default="")
PAYMENT_SANDBOX = env.bool("PAYMENT_SANDBOX", default=False)
PAYMENT_CALLBACK_MAX_SKEW_SECONDS = 300
# The sandbox gateway delivers each payment to our callback; off, only reconciliation finds it.
PAYMENT_SANDBOX_DELIVERY = env.bool("PAYMENT_SANDBOX_DELIVERY", default=True)
# Where the sandbox delivers; by default the contract's callback on SITE_URL.
PAYMENT_SANDBOX_NOTIFY_URL = env.str("PAYMENT_SANDBOX_NOTIFY_URL", default="")
# A gateway's notification is a few kilobytes; anything larger is refused unread.
PAYMENT_NOTIFICATION_MAX_BYTES = env.int("PAYMENT_NOTIFICATION_MAX_BYTES", default=64 * 1024)
# Refused notifications (bad signatures) are kept this long; verified ones for good.
PAYMENT_NOTIFICATION_RETENTION_DAYS = env.int("PAYMENT_NOTIFICATION_RETENTION_DAYS", default=30)
PAYMENT_DEADLINE = timedelta(minutes=env.int("PAYMENT_DEADLINE_MINUTES", default=30))

# The real providers (payments/gateways/): each serves its payment method once all its values
# are set; `manage.py check --deploy` fails on one half set. Key settings are PEM file paths.
# PAYMENT_NOTIFY_BASE_URL is the public https origin the providers call back
# (/api/payment/notify/wechat, /api/payment/notify/alipay).
PAYMENT_NOTIFY_BASE_URL = env.str("PAYMENT_NOTIFY_BASE_URL", default="")
PAYMENT_PROVIDER_TIMEOUT_SECONDS = env.float("PAYMENT_PROVIDER_TIMEOUT_SECONDS", default=10.0)
WECHATPAY_MCHID = env.str("WECHATPAY_MCHID", default="")
WECHATPAY_APPID = env.str("WECHATPAY_APPID", default="")
WECHATPAY_APIV3_KEY = env.str("WECHATPAY_APIV3_KEY", default="")
WECHATPAY_PRIVATE_KEY = env.str("WECHATPAY_PRIVATE_KEY", default="")
WECHATPAY_CERT_SERIAL = env.str("WECHATPAY_CERT_SERIAL", default="")
WECHATPAY_PUBLIC_KEY = env.str("WECHATPAY_PUBLIC_KEY", default="")
WECHATPAY_PUBLIC_KEY_ID = env.str("WECHATPAY_PUBLIC_KEY_ID", default="")
WECHATPAY_BASE_URL = env.str("WECHATPAY_BASE_URL", default="https://api.mch.weixin.qq.com")
ALIPAY_APP_ID = env.str("ALIPAY_APP_ID", default="")
ALIPAY_PRIVATE_KEY = env.str("ALIPAY_PRIVATE_KEY", default="")
ALIPAY_PUBLIC_KEY = env.str("ALIPAY_PUBLIC_KEY", default="")
ALIPAY_GATEWAY_URL = env.str("ALIPAY_GATEWAY_URL", default="https://openapi.alipay.com/gateway.do")
ALIPAY_SELLER_ID = env.str("ALIPAY_SELLER_ID", default="")

# 连续包月 (payments.renewals). The member's reminder of a renewal goes this many days before it
# (the law: at least 5, which the charge itself checks); a failed charge is tried again the
# next days, this many tries in all, then the agreement is suspended. Notices and charges go
# out between these hours, China time (WeChat Pay's rule for both). A signing QR code lapses
# after RENEWAL_SIGN_DEADLINE; a charge whose result never comes, after a day.
RENEWAL_REMINDER_DAYS = env.int("RENEWAL_REMINDER_DAYS", default=6)
RENEWAL_CHARGE_ATTEMPTS = env.int("RENEWAL_CHARGE_ATTEMPTS", default=3)
RENEWAL_CHARGE_HOURS = (7, 22)
RENEWAL_SIGN_DEADLINE = timedelta(minutes=env.int("RENEWAL_SIGN_MINUTES", default=30))
RENEWAL_CHARGE_DEADLINE = timedelta(days=1)
# WeChat Pay's 委托代扣 template (plan_id, approved by WeChat Pay): without it WeChat Pay signs
# no agreements. Its pre-debit notice allows charges on this many days after its waiting days.
WECHATPAY_PAPAY_PLAN_ID = env.str("WECHATPAY_PAPAY_PLAN_ID", default="")
WECHATPAY_PRE_DEBIT_DAYS = 7
