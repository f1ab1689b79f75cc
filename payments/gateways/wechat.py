"""WeChat Pay, API v3, Native payment: the buyer scans a QR code of `code_url`.

Hand-written on `cryptography` and `httpx`, not on a WeChat Pay SDK: the third-party SDKs
hard-code WeChat Pay's host (no local fake), lack the timestamp check, or fetch certificates at
start-up. This adapter is the protocol and nothing else:

- requests are signed `WECHATPAY2-SHA256-RSA2048` with the merchant's key, over
  "<METHOD>\\n<path?query>\\n<timestamp>\\n<nonce>\\n<body>\\n";
- answers and notifications are verified with WeChat Pay's public key (its id must be the
  `Wechatpay-Serial`), over "<timestamp>\\n<nonce>\\n<body>\\n", and refused when the
  timestamp is 5 minutes or more away;
- a notification's resource is decrypted with AES-256-GCM and the APIv3 key, then checked:
  our merchant and app ids; the order and the amount are checked by the shared path.
Amounts are in fen.

连续包月 (委托代扣, with `WECHATPAY_PAPAY_PLAN_ID`, the template WeChat Pay approved) is API v3
throughout, as WeChat Pay now documents it for a directly connected merchant: QR-code signing
(`pre-entrust-sign`, `SIGN_SCENE_QRCODE`: the member scans `redirect_url`), the pre-debit
notice (`/v3/papay/contracts/{contract_id}/notify`), the charge (`/v3/papay/pay/transactions/
apply`, its result notified as any transaction, `trade_type` PAP), and the unsign
(`.../terminate`); signing and unsigning arrive as `PAPAY.SIGN` / `PAPAY.TERMINATE`
notifications, encrypted like the others, at the same notify path. The older API v2 (XML,
`pappayapply`, `deletecontract`) is not spoken: one signature scheme, one notification path.
"""

import base64
import csv
import hashlib
import io
import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache, cached_property

import httpx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.checks import Error
from django.http import HttpResponse

from ..exceptions import BillNotReady, GatewayUnavailable, InvalidSignature, NotificationInvalid
from ..models import GatewayResult, PaymentMethod, RefundState, VipOrder
from . import keys
from .base import (
    CHINA_TIME,
    AgreementReport,
    BillEntry,
    Notification,
    PaymentAlreadyMade,
    PaymentReport,
    Provider,
    RefundReport,
    check_all_or_none,
    deadline,
    http_client,
    notify_url,
    timestamp_problem,
)

logger = logging.getLogger(__name__)

MAX_SKEW_SECONDS = 300


@dataclass(frozen=True)
class WeChatPayConfig:
    mchid: str
    appid: str
    apiv3_key: str
    private_key_path: str
    cert_serial: str
    public_key_path: str
    public_key_id: str
    base_url: str
    notify_url: str
    timeout: float
    papay_plan_id: str = ""  # 委托代扣 template: agreements only with it


def fen(amount: Decimal) -> int:
    """Yuan to WeChat Pay's fen."""
    return int((amount * 100).to_integral_value())


def yuan(fen: int | str) -> Decimal:
    """WeChat Pay's fen to yuan."""
    return Decimal(fen) / 100


SETTINGS = ["WECHATPAY_MCHID", "WECHATPAY_APPID", "WECHATPAY_APIV3_KEY", "WECHATPAY_CERT_SERIAL",
            "WECHATPAY_PUBLIC_KEY_ID"]  # fmt: skip
KEY_FILES = {"WECHATPAY_PRIVATE_KEY": "private", "WECHATPAY_PUBLIC_KEY": "public"}


@cache
def _provider(config: "WeChatPayConfig") -> "WeChatPayProvider":
    return WeChatPayProvider(config)  # one per configuration: its HTTP connections are kept


class WeChatPayProvider(Provider):
    name = "wechat"
    display_name = "微信支付"
    settings_hint = "WECHATPAY_*"
    methods = (PaymentMethod.WECHAT,)
    notify_route = True
    closes_payments = True
    refunds = True
    bills = True
    kept_headers = ("Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Serial",
                    "Wechatpay-Signature")  # fmt: skip

    @classmethod
    def from_settings(cls) -> "WeChatPayProvider | None":
        values = [getattr(settings, name) for name in ("WECHATPAY_MCHID", "WECHATPAY_APPID",
                  "WECHATPAY_APIV3_KEY", "WECHATPAY_PRIVATE_KEY", "WECHATPAY_CERT_SERIAL",
                  "WECHATPAY_PUBLIC_KEY", "WECHATPAY_PUBLIC_KEY_ID")]  # fmt: skip
        if not all(values) or not settings.PAYMENT_NOTIFY_BASE_URL:
            return None
        return _provider(
            WeChatPayConfig(
                *values,
                base_url=settings.WECHATPAY_BASE_URL,
                notify_url=notify_url(cls.name),
                timeout=settings.PAYMENT_PROVIDER_TIMEOUT_SECONDS,
                papay_plan_id=settings.WECHATPAY_PAPAY_PLAN_ID,
            )
        )

    @classmethod
    def check_settings(cls) -> list:
        errors = check_all_or_none("WeChat Pay", SETTINGS, KEY_FILES)
        if settings.WECHATPAY_PAPAY_PLAN_ID and not settings.WECHATPAY_PAPAY_PLAN_ID.isdigit():
            errors.append(
                Error(
                    "WECHATPAY_PAPAY_PLAN_ID is WeChat Pay's template number.", id="payments.E014"
                )
            )
        key = settings.WECHATPAY_APIV3_KEY
        if key and len(key.encode()) != 32:
            errors.append(
                Error(
                    f"WECHATPAY_APIV3_KEY is {len(key.encode())} bytes; WeChat Pay's APIv3 "
                    "key is 32.",
                    id="payments.E013",
                )
            )
        return errors

    notices_before_charge = True

    def __init__(self, config: WeChatPayConfig) -> None:
        self.config = config
        self.client = http_client(config.timeout, base_url=config.base_url.rstrip("/"))
        self.agreements = bool(config.papay_plan_id)

    @cached_property
    def _aead(self) -> AESGCM:
        return AESGCM(self.config.apiv3_key.encode())

    # --- calls ---------------------------------------------------------------------------

    def create_payment(self, order: VipOrder) -> str:
        answer = self._call(
            "POST",
            "/v3/pay/transactions/native",
            {
                "appid": self.config.appid,
                "mchid": self.config.mchid,
                "description": order.plan_name,
                "out_trade_no": order.order_number,
                "time_expire": order.expire_time.astimezone(CHINA_TIME).isoformat(
                    timespec="seconds"
                ),
                "notify_url": self.config.notify_url,
                "amount": {"total": fen(order.amount), "currency": "CNY"},
            },
            order=order,
        )
        code_url = answer.get("code_url")
        if not isinstance(code_url, str) or not code_url:
            raise GatewayUnavailable("微信支付下单失败，请稍后重试")
        return code_url

    def query_payment(self, order: VipOrder) -> PaymentReport | None:
        path = f"/v3/pay/transactions/out-trade-no/{order.order_number}?mchid={self.config.mchid}"
        answer = self._call("GET", path, order=order, not_found_ok=True)
        if answer is None:
            return None
        state = answer.get("trade_state")
        amount = yuan(_total(answer) or 0)
        if state == "SUCCESS":
            return PaymentReport(GatewayResult.SUCCESS, amount, answer.get("transaction_id", ""))
        if state in ("CLOSED", "REVOKED", "PAYERROR"):
            return PaymentReport(GatewayResult.FAILED, amount, answer.get("transaction_id", ""))
        return None  # NOTPAY, USERPAYING: not final; REFUND: paid before, the order says so

    def refund(self, order: VipOrder, refund) -> RefundReport:
        answer = self._call(
            "POST",
            "/v3/refund/domestic/refunds",
            {
                "out_trade_no": order.order_number,
                "out_refund_no": refund.refund_number,
                "reason": refund.reason,
                "notify_url": self.config.notify_url,
                "amount": {
                    "refund": fen(refund.amount),
                    "total": fen(order.amount),
                    "currency": "CNY",
                },
            },
            order=order,
        )
        return _refund_report(answer)

    def query_refund(self, order: VipOrder, refund) -> RefundReport | None:
        path = f"/v3/refund/domestic/refunds/{refund.refund_number}"
        answer = self._call("GET", path, order=order, not_found_ok=True)
        return None if answer is None else _refund_report(answer)

    def bill(self, day: date) -> list[BillEntry]:
        path = f"/v3/bill/tradebill?bill_date={day:%Y-%m-%d}&bill_type=ALL"
        try:
            answer = self._call("GET", path, refusals=("NO_STATEMENT_EXIST", "STATEMENT_CREATING"))
        except _Refused:
            raise BillNotReady() from None
        base = self.config.base_url.rstrip("/")
        url = str(answer.get("download_url", ""))
        if not url.startswith(base + "/"):  # our signature goes to WeChat Pay's host only
            raise GatewayUnavailable("微信支付账单下载地址无效")
        content = self._call("GET", url[len(base) :], file=True)
        # SHA-1 is what WeChat Pay gives (`hash_type`): a check of the transfer, not a signature.
        digest = hashlib.sha1(content, usedforsecurity=False).hexdigest()
        if digest != str(answer.get("hash_value", "")).lower():
            raise GatewayUnavailable("微信支付账单校验失败")
        return parse_tradebill(content.decode("utf-8-sig"))

    # --- 连续包月 (委托代扣) ----------------------------------------------------------------

    def sign_agreement(self, agreement) -> str:
        answer = self._call(
            "POST",
            "/v3/papay/sign/contracts/pre-entrust-sign",
            {
                "sign_scene": "SIGN_SCENE_QRCODE",
                "appid": self.config.appid,
                "plan_id": int(self.config.papay_plan_id),
                "out_contract_code": agreement.agreement_number,
                "contract_display_account": f"影视VIP会员 {agreement.user_id}",
                "contract_notify_url": self.config.notify_url,
                "out_user_code": str(agreement.user_id),
            },
        )
        url = answer.get("redirect_url")
        if not isinstance(url, str) or not url:
            raise GatewayUnavailable("微信支付签约失败，请稍后重试")
        return url

    def notify_before_charge(self, agreement, amount: Decimal) -> None:
        self._call(
            "POST",
            f"/v3/papay/contracts/{agreement.provider_agreement_id}/notify",
            {
                "mchid": self.config.mchid,
                "appid": self.config.appid,
                "deduct_duration": {"count": settings.WECHATPAY_PRE_DEBIT_DAYS, "unit": "DAY"},
                "estimated_amount": {"amount": fen(amount), "currency": "CNY"},
            },
        )

    def pre_debit_window(self, noticed: date) -> tuple[date, date]:
        """The day of the notice and the next wait; then `WECHATPAY_PRE_DEBIT_DAYS` days."""
        return noticed + timedelta(days=2), noticed + timedelta(
            days=1 + settings.WECHATPAY_PRE_DEBIT_DAYS
        )

    def charge(self, agreement, order: VipOrder) -> PaymentReport | None:
        try:
            self._call(
                "POST",
                "/v3/papay/pay/transactions/apply",
                {
                    "appid": self.config.appid,
                    "out_trade_no": order.order_number,
                    "description": f"{order.plan_name}（自动续费）",
                    "transaction_notify_url": self.config.notify_url,
                    "contract_id": agreement.provider_agreement_id,
                    "amount": {"total": fen(order.amount), "currency": "CNY"},
                },
                order=order,
                refusals=CHARGE_REFUSALS,
            )
        except _Refused as refused:
            return PaymentReport(GatewayResult.FAILED, order.amount, failure=str(refused))
        return None  # accepted: the result comes as the transaction's notification

    def unsign(self, agreement) -> None:
        plan, number = self.config.papay_plan_id, agreement.agreement_number
        path = f"/v3/papay/sign/contracts/plan-id/{plan}/out-contract-code/{number}/terminate"
        try:
            self._call(
                "POST", path,
                {"appid": self.config.appid, "contract_termination_remark": "会员取消自动续费"},
                refusals=("CONTRACT_NOT_EXIST", "CONTRACT_TERMINATED"),
            )  # fmt: skip
        except _Refused:
            return  # ended there already

    def close_payment(self, order: VipOrder) -> None:
        path = f"/v3/pay/transactions/out-trade-no/{order.order_number}/close"
        try:
            self._call(
                "POST", path, {"mchid": self.config.mchid}, order=order, not_found_ok=True,
                refusals=("ORDERPAID",),
            )  # fmt: skip
        except _Refused:
            raise PaymentAlreadyMade() from None

    def _call(
        self,
        method: str,
        path: str,
        payload=None,
        *,
        order=None,
        not_found_ok=False,
        refusals=(),
        file=False,
    ):
        """Send a signed request and answer its verified JSON (with `file`, the bytes of a
        download, which WeChat Pay does not sign: its bill's hash is checked instead).
        `GatewayUnavailable` when WeChat Pay does not answer, answers 5xx, signs wrongly, or
        refuses (4xx) with a code not in `refusals` (those raise `_Refused`); None for a 404
        when `not_found_ok`. `order`: the order it is about, for the log."""
        about = f"order={order.order_number} user={order.user_id}" if order else "bill"
        body = "" if payload is None else json.dumps(payload, ensure_ascii=False)
        url_path = httpx.URL(self.config.base_url.rstrip("/") + path).raw_path.decode()
        headers = {
            "Authorization": self._authorization(method, url_path, body),
            "Accept": "application/json",
        }
        if payload is not None:
            headers["Content-Type"] = "application/json"
        try:
            with deadline(self.config.timeout):
                response = self.client.request(method, path, content=body.encode(), headers=headers)
        except httpx.HTTPError as exc:
            logger.warning(
                "wechat pay %s %s failed %s: %r",
                method, path, about, exc,
            )  # fmt: skip
            raise GatewayUnavailable() from None
        if response.status_code >= 500:
            logger.warning(
                "wechat pay %s %s answered %s %s",
                method, path, response.status_code, about,
            )  # fmt: skip
            raise GatewayUnavailable()
        try:
            if not (file and response.status_code == 200):
                self._verify(response.headers, response.content)
        except InvalidSignature as exc:
            logger.error(
                "SECURITY wechat pay answer not trusted %s: %s",
                about, exc.message,
            )  # fmt: skip
            raise GatewayUnavailable("支付平台应答无法验证，请稍后重试") from None
        if response.status_code == 404 and not_found_ok:
            return None
        if response.status_code >= 400:
            code = str(_json_or_empty(response.content).get("code", response.status_code))
            if code in refusals:
                raise _Refused(code)
            logger.error(
                "wechat pay %s %s refused %s %s",
                method, path, code, about,
            )  # fmt: skip
            raise GatewayUnavailable(f"微信支付拒绝了请求（{code}），请稍后重试")
        if file:
            return response.content
        return _json_or_empty(response.content) if response.content else {}

    def _authorization(self, method: str, url_path: str, body: str) -> str:
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        message = f"{method}\n{url_path}\n{timestamp}\n{nonce}\n{body}\n".encode()
        signature = base64.b64encode(
            keys.rsa_sign(keys.private_key(self.config.private_key_path), message)
        ).decode()
        return (
            f'WECHATPAY2-SHA256-RSA2048 mchid="{self.config.mchid}",nonce_str="{nonce}",'
            f'timestamp="{timestamp}",serial_no="{self.config.cert_serial}",'
            f'signature="{signature}"'
        )

    # --- notifications -------------------------------------------------------------------

    def verify(self, *, body: bytes, headers, now: float | None = None) -> None:
        self._verify(headers, body, now=now)

    def _verify(self, headers, body: bytes, *, now: float | None = None) -> None:
        timestamp = headers.get("Wechatpay-Timestamp", "")
        nonce = headers.get("Wechatpay-Nonce", "")
        signature = headers.get("Wechatpay-Signature", "")
        serial = headers.get("Wechatpay-Serial", "")
        if not (timestamp and nonce and signature and serial):
            raise InvalidSignature("缺少微信支付签名")
        if serial != self.config.public_key_id:
            raise InvalidSignature("微信支付公钥ID不符")
        problem = timestamp_problem(timestamp, max_skew=MAX_SKEW_SECONDS, now=now)
        if problem:
            raise InvalidSignature({"invalid": "时间戳无效", "stale": "时间戳已过期"}[problem])
        try:
            raw_signature = base64.b64decode(signature, validate=True)
        except ValueError:
            raise InvalidSignature() from None
        message = timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body + b"\n"
        if not keys.rsa_verify(
            keys.public_key(self.config.public_key_path), raw_signature, message
        ):
            raise InvalidSignature()

    def _decrypt(self, event: dict) -> dict:
        """The notification's transaction: its resource, decrypted with our APIv3 key (which
        also proves it was made for us)."""
        resource = event.get("resource")
        if not isinstance(resource, dict) or resource.get("algorithm") != "AEAD_AES_256_GCM":
            raise NotificationInvalid("通知缺少加密数据")
        try:
            plaintext = self._aead.decrypt(
                str(resource.get("nonce", "")).encode(),
                base64.b64decode(str(resource.get("ciphertext", ""))),
                str(resource.get("associated_data", "")).encode(),
            )
        except (InvalidTag, ValueError):
            raise NotificationInvalid("通知数据解密失败") from None
        return _json_or_empty(plaintext)

    def order_number_of(self, body: bytes) -> str:
        """The order a notification names, for its record even when its signature fails: only
        a sender holding our APIv3 key can encrypt one that reads."""
        try:
            resource = self._decrypt(_json_or_empty(body))
        except NotificationInvalid:
            return ""
        order_number = resource.get("out_trade_no") or resource.get("out_contract_code")
        return order_number[:64] if isinstance(order_number, str) else ""

    def parse(self, body: bytes) -> Notification:
        event = _json_or_empty(body)
        transaction = self._decrypt(event)
        if transaction.get("mchid") != self.config.mchid:
            raise NotificationInvalid("商户号不符")
        if str(event.get("event_type", "")).startswith("REFUND."):
            return self._refund_notification(event, transaction)
        if transaction.get("appid") != self.config.appid:
            raise NotificationInvalid("应用ID不符")
        if str(event.get("event_type", "")).startswith("PAPAY."):
            return self._contract_notification(event, transaction)
        order_number = transaction.get("out_trade_no")
        if not isinstance(order_number, str) or not order_number:
            raise NotificationInvalid("通知缺少商户订单号")
        total = _total(transaction)
        if total is None:
            raise NotificationInvalid("通知金额无效")
        state = transaction.get("trade_state")
        paid = event.get("event_type") == "TRANSACTION.SUCCESS" and state == "SUCCESS"
        # PAYERROR: a renewal's charge that failed (the member's balance, a frozen card).
        result = (
            GatewayResult.SUCCESS if paid
            else GatewayResult.FAILED if state == "PAYERROR"
            else None
        )  # fmt: skip
        return Notification(
            order_number=order_number[:64],
            result=result,
            amount=yuan(total),
            transaction_id=str(transaction.get("transaction_id", ""))[:64],
            event_id=str(event.get("id", ""))[:64],
            failure=str(transaction.get("trade_state_desc") or state or "")[:100]
            if result == GatewayResult.FAILED
            else "",
        )

    def _contract_notification(self, event: dict, contract: dict) -> Notification:
        """PAPAY.SIGN / PAPAY.TERMINATE: a contract signed, or ended (by the member in WeChat:
        `contract_termination_mode` USER)."""
        number = contract.get("out_contract_code")
        if not isinstance(number, str) or not number:
            raise NotificationInvalid("通知缺少商户签约协议号")
        if str(contract.get("plan_id", "")) != self.config.papay_plan_id:
            raise NotificationInvalid("委托代扣模板不符")
        signed = contract.get("contract_state") == "SIGNED"
        return Notification(
            order_number=number[:64],
            result=None,
            amount=None,
            event_id=str(event.get("id", ""))[:64],
            agreement=AgreementReport(
                agreement_number=number[:64],
                signed=signed,
                provider_agreement_id=str(contract.get("contract_id", ""))[:64],
                by_member=not signed and contract.get("contract_termination_mode") == "USER",
            ),
        )

    def _refund_notification(self, event: dict, refund: dict) -> Notification:
        """REFUND.SUCCESS, REFUND.ABNORMAL or REFUND.CLOSED: the resource is the refund, with
        no `appid` (the merchant number and our APIv3 key prove it is ours)."""
        order_number = refund.get("out_trade_no")
        if not isinstance(order_number, str) or not order_number:
            raise NotificationInvalid("通知缺少商户订单号")
        total = _total(refund)
        report = _refund_report(refund)
        if total is None or report.amount is None:
            raise NotificationInvalid("通知金额无效")
        return Notification(
            order_number=order_number[:64],
            result=None,
            amount=yuan(total),
            transaction_id=str(refund.get("transaction_id", ""))[:64],
            event_id=str(event.get("id", ""))[:64],
            refund=report,
        )

    def acknowledge(self, order: VipOrder | None) -> HttpResponse:
        return HttpResponse(status=204)


# A refund's `status` (an answer) or `refund_status` (a notification), in our terms. ABNORMAL:
# the money could not reach the buyer (a closed card); the merchant settles it by hand.
REFUND_STATES = {
    "SUCCESS": RefundState.SUCCEEDED,
    "PROCESSING": RefundState.PROCESSING,
    "CLOSED": RefundState.CLOSED,
    "ABNORMAL": RefundState.FAILED,
}


def _refund_report(answer: dict) -> RefundReport:
    status = str(answer.get("status") or answer.get("refund_status") or "")
    amount = answer.get("amount")
    refunded = amount.get("refund") if isinstance(amount, dict) else None
    return RefundReport(
        REFUND_STATES.get(status, RefundState.PROCESSING),
        provider_refund_id=str(answer.get("refund_id", ""))[:64],
        refund_number=str(answer.get("out_refund_no", ""))[:64],
        amount=yuan(refunded)
        if isinstance(refunded, int) and not isinstance(refunded, bool)
        else None,
        code=status,
    )


# A charge WeChat Pay refuses for good (nothing was taken): the try failed.
CHARGE_REFUSALS = ("CONTRACT_NOT_EXIST", "CONTRACT_ERROR", "RULE_LIMIT", "NOTENOUGH",
                   "USER_ACCOUNT_ABNORMAL")  # fmt: skip


class _Refused(Exception):
    """WeChat Pay refused a request with a code its caller expects."""


def _total(transaction: dict) -> int | None:
    """`amount.total`, in fen, if it is an integer."""
    amount = transaction.get("amount")
    total = amount.get("total") if isinstance(amount, dict) else None
    return total if isinstance(total, int) and not isinstance(total, bool) else None


def _json_or_empty(data: bytes) -> dict:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def _bill_field(value: str) -> str:
    return value.strip().lstrip("`").strip()


def parse_tradebill(text: str) -> list[BillEntry]:
    """WeChat Pay's `tradebill` (bill_type ALL): a header row, then a row per payment or refund
    with every field prefixed by a backtick, then the totals' header and row (not read: the
    lines are summed where they are kept). A refund's row names its refund numbers; a payment's
    has 0 there."""
    rows = csv.reader(io.StringIO(text))
    header = [_bill_field(name) for name in next(rows, [])]
    column = {name: index for index, name in enumerate(header)}
    entries = []
    for row in rows:
        if not row or not row[0].startswith("`"):
            break  # the totals
        field = {name: _bill_field(row[index]) for name, index in column.items()}
        refund_number = field.get("商户退款单号", "")
        refund = refund_number not in ("", "0")
        entries.append(
            BillEntry(
                order_number=field["商户订单号"],
                amount=Decimal(field["退款金额"] if refund else field["应结订单金额"]),
                refund_number=refund_number if refund else "",
                transaction_id=field.get("微信退款单号" if refund else "微信订单号", ""),
                fee=Decimal(field.get("手续费") or "0"),
                occurred_at=datetime.strptime(field["交易时间"], "%Y-%m-%d %H:%M:%S").replace(
                    tzinfo=CHINA_TIME
                ),
            )
        )
    return entries
