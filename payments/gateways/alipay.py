"""Alipay 当面付 (precreate): the merchant shows a QR code of `qr_code`; the buyer scans it.

Hand-written on `cryptography` and `httpx`, not on an Alipay SDK: the third-party SDKs
hard-code Alipay's gateway (no local fake) or depend on an archived RSA package. This adapter
is the protocol and nothing else:

- calls are form posts to the one gateway URL, signed RSA2 (RSA-SHA256, PKCS#1 v1.5) with the
  app's key over the parameters with a value, sorted, joined `k=v&...`;
- answers are verified with Alipay's public key over the exact text of their `..._response`;
- notifications are verified the same way over their parameters (less `sign`, `sign_type`),
  then checked: our app id and, when configured, our seller id; the order and the amount are
  checked by the shared path.
Amounts are yuan with two decimals.

连续包月 (周期扣款): signing is `alipay.user.agreement.page.sign` (`CYCLE_PAY_AUTH`, a period
rule of the plan's days), a page the member opens by scanning the QR code of its signed URL;
the result arrives as a `dut_user_sign` notification (`dut_user_unsign` when the member ends it
in Alipay) at the same notify path. Each period is charged with `alipay.trade.pay`
(`product_code` CYCLE_PAY_AUTH, `agreement_params.agreement_no`), answered at once; ended with
`alipay.user.agreement.unsign`.
"""

import base64
import csv
import io
import json
import logging
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from urllib.parse import parse_qsl, urlencode

import httpx
from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone

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
)

logger = logging.getLogger(__name__)

PAID = ("TRADE_SUCCESS", "TRADE_FINISHED")


@dataclass(frozen=True)
class AlipayConfig:
    app_id: str
    private_key_path: str
    public_key_path: str
    gateway_url: str
    seller_id: str
    notify_url: str
    timeout: float


def signing_text(params: dict[str, str], *, leave_out=("sign",), charset: str = "utf-8") -> bytes:
    """The parameters with a value, but `leave_out`, sorted by name, as `k=v&k=v`, in the
    bytes of `charset` (what Alipay signs)."""
    return "&".join(
        f"{name}={value}" for name, value in sorted(params.items())
        if name not in leave_out and value != ""
    ).encode(charset)  # fmt: skip


@cache
def _provider(config: "AlipayConfig") -> "AlipayProvider":
    return AlipayProvider(config)  # one per configuration: its HTTP connections are kept


class AlipayProvider(Provider):
    name = "alipay"
    display_name = "支付宝"
    settings_hint = "ALIPAY_*"
    methods = (PaymentMethod.ALIPAY,)
    notify_route = True
    closes_payments = True
    refunds = True
    bills = True
    agreements = True

    @classmethod
    def from_settings(cls) -> "AlipayProvider | None":
        values = [settings.ALIPAY_APP_ID, settings.ALIPAY_PRIVATE_KEY, settings.ALIPAY_PUBLIC_KEY]
        if not all(values) or not settings.PAYMENT_NOTIFY_BASE_URL:
            return None
        return _provider(
            AlipayConfig(
                *values,
                gateway_url=settings.ALIPAY_GATEWAY_URL,
                seller_id=settings.ALIPAY_SELLER_ID,
                notify_url=notify_url(cls.name),
                timeout=settings.PAYMENT_PROVIDER_TIMEOUT_SECONDS,
            )
        )

    @classmethod
    def check_settings(cls) -> list:
        return check_all_or_none(
            "Alipay",
            ["ALIPAY_APP_ID"],
            {"ALIPAY_PRIVATE_KEY": "private", "ALIPAY_PUBLIC_KEY": "public"},
        )

    def __init__(self, config: AlipayConfig) -> None:
        self.config = config
        self.client = http_client(config.timeout)

    # --- calls ---------------------------------------------------------------------------

    def create_payment(self, order: VipOrder) -> str:
        minutes = max(1, int((order.expire_time - timezone.now()).total_seconds() // 60))
        answer = self._call(
            "alipay.trade.precreate",
            {
                "out_trade_no": order.order_number,
                "total_amount": f"{order.amount:.2f}",
                "subject": order.plan_name,
                "timeout_express": f"{minutes}m",
            },
            order=order,
            notify=True,
        )
        if answer.get("code") != "10000" or not answer.get("qr_code"):
            logger.warning(
                "alipay precreate refused order=%s user=%s: %s %s",
                order.order_number, order.user_id, answer.get("code"), answer.get("sub_code"),
            )  # fmt: skip
            raise GatewayUnavailable("支付宝下单失败，请稍后重试")
        return answer["qr_code"]

    def query_payment(self, order: VipOrder) -> PaymentReport | None:
        answer = self._call("alipay.trade.query", {"out_trade_no": order.order_number}, order=order)
        if answer.get("code") != "10000":
            if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
                return None  # never scanned
            raise GatewayUnavailable(f"支付宝查询失败：{answer.get('sub_code')}")
        status = answer.get("trade_status")
        amount = _yuan(answer.get("total_amount")) or Decimal(0)
        if status in PAID:
            return PaymentReport(GatewayResult.SUCCESS, amount, answer.get("trade_no", ""))
        if status == "TRADE_CLOSED":
            return PaymentReport(GatewayResult.FAILED, amount, answer.get("trade_no", ""))
        return None  # WAIT_BUYER_PAY

    def refund(self, order: VipOrder, refund) -> RefundReport:
        answer = self._call(
            "alipay.trade.refund",
            {
                "out_trade_no": order.order_number,
                "refund_amount": f"{refund.amount:.2f}",
                "out_request_no": refund.refund_number,
                "refund_reason": refund.reason,
            },
            order=order,
        )
        if answer.get("code") == "10000":
            # "Y": money moved now; "N": nothing moved this time (a repeat, or still under
            # way): the refund query tells.
            moved = answer.get("fund_change") == "Y"
            return RefundReport(
                RefundState.SUCCEEDED if moved else RefundState.PROCESSING,
                refund_number=refund.refund_number,  # Alipay's only name for a refund
                amount=refund.amount,
                code=f"fund_change={answer.get('fund_change')}",
            )
        if answer.get("code") == "40004":  # refused for good: not enough left, trade closed...
            return RefundReport(RefundState.FAILED, code=str(answer.get("sub_code", ""))[:100])
        raise GatewayUnavailable(f"支付宝退款失败：{answer.get('sub_code') or answer.get('code')}")

    def query_refund(self, order: VipOrder, refund) -> RefundReport | None:
        return self._query_refund(order, refund.refund_number)

    def _query_refund(self, order: VipOrder, request_number: str) -> RefundReport | None:
        answer = self._call(
            "alipay.trade.fastpay.refund.query",
            {"out_trade_no": order.order_number, "out_request_no": request_number},
            order=order,
        )
        if answer.get("code") != "10000":
            raise GatewayUnavailable(f"支付宝退款查询失败：{answer.get('sub_code')}")
        if answer.get("refund_status") != "REFUND_SUCCESS":
            return None  # no such refund (or not made): asking again is safe
        return RefundReport(
            RefundState.SUCCEEDED,
            refund_number=request_number,
            amount=_yuan(answer.get("refund_amount")),
            code="REFUND_SUCCESS",
        )

    def confirm_refund(self, order: VipOrder, report: RefundReport) -> RefundReport:
        """A notification's refund is a hint: the refund query confirms it (by the request
        number it names; a full refund made without one is known by the order's number)."""
        request_number = report.refund_number or order.order_number
        found = self._query_refund(order, request_number)
        if found is None:
            return RefundReport(RefundState.PROCESSING, refund_number=report.refund_number)
        return RefundReport(
            RefundState.SUCCEEDED,
            refund_number=request_number,
            amount=found.amount,
            refunded_total=report.refunded_total,
            code=found.code,
        )

    def bill(self, day: date) -> list[BillEntry]:
        answer = self._call(
            "alipay.data.dataservice.bill.downloadurl.query",
            {"bill_type": "trade", "bill_date": f"{day:%Y-%m-%d}"},
        )
        if answer.get("code") != "10000":
            if answer.get("sub_code") == "isp.bill_not_exist":
                raise BillNotReady()
            raise GatewayUnavailable(f"支付宝账单查询失败：{answer.get('sub_code')}")
        try:  # the address comes in Alipay's signed answer, valid for a short time
            with deadline(self.config.timeout):
                response = self.client.get(str(answer.get("bill_download_url", "")))
        except httpx.HTTPError as exc:
            logger.warning("alipay bill download failed: %r", exc)
            raise GatewayUnavailable() from None
        if response.status_code != 200:
            raise GatewayUnavailable(f"支付宝账单下载失败（HTTP {response.status_code}）")
        return parse_trade_bill(response.content)

    # --- 连续包月 (周期扣款) -------------------------------------------------------------

    def sign_agreement(self, agreement) -> str:
        """The signed URL of Alipay's signing page (a page call: nothing is sent now)."""
        execute = timezone.now().astimezone(CHINA_TIME).date()
        params = self._params(
            "alipay.user.agreement.page.sign",
            {
                "personal_product_code": "CYCLE_PAY_AUTH_P",
                "product_code": "CYCLE_PAY_AUTH",
                "sign_scene": "INDUSTRY|DIGITAL_MEDIA",
                "external_agreement_no": agreement.agreement_number,
                "external_logon_id": str(agreement.user_id),
                "access_params": {"channel": "QRCODE"},
                "period_rule_params": {
                    "period_type": "DAY",
                    "period": agreement.period_days,
                    "execute_time": f"{execute:%Y-%m-%d}",
                    "single_amount": f"{max(agreement.price, agreement.first_price):.2f}",
                },
            },
            notify=True,
        )
        return f"{self.config.gateway_url}?{urlencode(params)}"

    def charge(self, agreement, order: VipOrder) -> PaymentReport | None:
        answer = self._call(
            "alipay.trade.pay",
            {
                "out_trade_no": order.order_number,
                "total_amount": f"{order.amount:.2f}",
                "subject": f"{order.plan_name}（自动续费）",
                "product_code": "CYCLE_PAY_AUTH",
                "agreement_params": {"agreement_no": agreement.provider_agreement_id},
            },
            order=order,
            notify=True,
        )
        code = answer.get("code")
        if code == "10000":
            amount = _yuan(answer.get("total_amount")) or order.amount
            return PaymentReport(GatewayResult.SUCCESS, amount, answer.get("trade_no", ""))
        if code == "10003":
            return None  # under way: its notification (or the payment query) tells
        if code == "40004":  # refused: the member's balance, the agreement...
            failure = answer.get("sub_msg") or answer.get("sub_code") or "扣款失败"
            return PaymentReport(GatewayResult.FAILED, order.amount, failure=str(failure)[:100])
        raise GatewayUnavailable(f"支付宝扣款失败：{answer.get('sub_code') or code}")

    def unsign(self, agreement) -> None:
        answer = self._call(
            "alipay.user.agreement.unsign",
            {
                "agreement_no": agreement.provider_agreement_id,
                "personal_product_code": "CYCLE_PAY_AUTH_P",
            },
        )
        if answer.get("code") not in ("10000", "40004"):  # 40004: no such agreement (left)
            raise GatewayUnavailable(f"支付宝解约失败：{answer.get('sub_code')}")

    def close_payment(self, order: VipOrder) -> None:
        answer = self._call("alipay.trade.close", {"out_trade_no": order.order_number}, order=order)
        if answer.get("code") == "10000" or answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            return
        if answer.get("sub_code") == "ACQ.TRADE_STATUS_ERROR":
            raise PaymentAlreadyMade()  # paid (or closed already): reconciliation tells which
        raise GatewayUnavailable(f"支付宝关单失败：{answer.get('sub_code')}")

    def _params(self, method: str, biz: dict, *, notify=False) -> dict[str, str]:
        """A call's parameters, signed."""
        params = {
            "app_id": self.config.app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": timezone.now().astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S"),
            "version": "1.0",
            "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
        }
        if notify:
            params["notify_url"] = self.config.notify_url
        key = keys.private_key(self.config.private_key_path)
        params["sign"] = base64.b64encode(keys.rsa_sign(key, signing_text(params))).decode()
        return params

    def _call(self, method: str, biz: dict, *, order=None, notify=False) -> dict:
        about = f"order={order.order_number} user={order.user_id}" if order else method
        params = self._params(method, biz, notify=notify)
        try:
            with deadline(self.config.timeout):
                response = self.client.post(self.config.gateway_url, data=params)
        except httpx.HTTPError as exc:
            logger.warning(
                "alipay %s failed %s: %r", method, about, exc,
            )  # fmt: skip
            raise GatewayUnavailable() from None
        if response.status_code != 200:
            logger.warning(
                "alipay %s answered %s %s",
                method, response.status_code, about,
            )  # fmt: skip
            raise GatewayUnavailable()
        try:
            return self._verified_answer(method, response.text)
        except InvalidSignature as exc:
            logger.error(
                "SECURITY alipay answer not trusted %s: %s",
                about, exc.message,
            )  # fmt: skip
            raise GatewayUnavailable("支付平台应答无法验证，请稍后重试") from None

    def _verified_answer(self, method: str, text: str) -> dict:
        """The `..._response` object, once its exact text is verified against `sign`."""
        name = method.replace(".", "_") + "_response"
        decoder = json.JSONDecoder()
        try:
            whole = json.loads(text)
            start = text.index(f'"{name}"')
            start = text.index("{", start + len(name) + 2)
            answer, end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            raise InvalidSignature("应答格式无效") from None
        signature = whole.get("sign") if isinstance(whole, dict) else None
        if not isinstance(signature, str) or not isinstance(answer, dict):
            raise InvalidSignature("应答缺少签名")
        self._check(signature, text[start:end].encode())
        return answer

    def _check(self, signature: str, message: bytes) -> None:
        try:
            raw = base64.b64decode(signature, validate=True)
        except ValueError:
            raise InvalidSignature() from None
        if not keys.rsa_verify(keys.public_key(self.config.public_key_path), raw, message):
            raise InvalidSignature()

    # --- notifications -------------------------------------------------------------------

    def verify(self, *, body: bytes, headers) -> None:
        params = _form(body)
        if not params.get("sign"):
            raise InvalidSignature("缺少支付宝签名")
        signed = signing_text(params, leave_out=("sign", "sign_type"), charset=_charset(body))
        self._check(params["sign"], signed)

    def parse(self, body: bytes) -> Notification:
        params = _form(body)
        if params.get("app_id") != self.config.app_id:
            raise NotificationInvalid("应用ID不符")
        if params.get("notify_type") in ("dut_user_sign", "dut_user_unsign"):
            return _agreement_notification(params)
        if self.config.seller_id and params.get("seller_id") != self.config.seller_id:
            raise NotificationInvalid("收款账号不符")
        order_number = params.get("out_trade_no", "")
        amount = _yuan(params.get("total_amount"))
        if not order_number or amount is None:
            raise NotificationInvalid("通知缺少订单号或金额")
        status = params.get("trade_status")
        result = (
            GatewayResult.SUCCESS if status in PAID
            else GatewayResult.FAILED if status == "TRADE_CLOSED"
            else None
        )  # fmt: skip
        # After a refund: `refund_fee` (all refunded so far) and `out_biz_no` (the refund's
        # request number), with TRADE_SUCCESS after a partial one and TRADE_CLOSED after a full
        # one. A paid order closed without them was refunded in full too.
        refund = None
        refunded = _yuan(params.get("refund_fee"))
        if refunded is not None or status == "TRADE_CLOSED":
            refund = RefundReport(
                RefundState.SUCCEEDED,
                refund_number=params.get("out_biz_no", "")[:64],
                refunded_total=refunded if refunded is not None else amount,
                code=f"{status} refund_fee={params.get('refund_fee', '')}",
            )
            if status in PAID:
                result = None  # the payment was announced before
        return Notification(
            order_number=order_number[:64],
            result=result,
            amount=amount,
            transaction_id=params.get("trade_no", "")[:64],
            event_id=params.get("notify_id", "")[:64],
            refund=refund,
        )

    def order_number_of(self, body: bytes) -> str:
        params = _form(body)
        return (params.get("out_trade_no") or params.get("external_agreement_no", ""))[:64]

    def acknowledge(self, order: VipOrder | None) -> HttpResponse:
        return HttpResponse("success", content_type="text/plain")

    def refuse(self, status: int, message: str) -> HttpResponse:
        return HttpResponse("fail", status=status, content_type="text/plain")


def _agreement_notification(params: dict[str, str]) -> Notification:
    """dut_user_sign (status NORMAL: signed) or dut_user_unsign (the member ended it in
    Alipay)."""
    number = params.get("external_agreement_no", "")
    if not number or not params.get("agreement_no"):
        raise NotificationInvalid("通知缺少协议号")
    signed = params["notify_type"] == "dut_user_sign" and params.get("status") == "NORMAL"
    return Notification(
        order_number=number[:64],
        result=None,
        amount=None,
        event_id=params.get("notify_id", "")[:64],
        agreement=AgreementReport(
            agreement_number=number[:64],
            signed=signed,
            provider_agreement_id=params["agreement_no"][:64],
            by_member=params["notify_type"] == "dut_user_unsign",
        ),
    )


# The charsets a merchant's Alipay account may use; its notifications come in the same one.
CHARSETS = {"utf-8": "utf-8", "utf8": "utf-8", "gbk": "gbk", "gb2312": "gbk", "gb18030": "gb18030"}


def _charset(body: bytes) -> str:
    """The charset a notification declares in its own `charset` parameter (the name is ASCII
    in any of them): Alipay sends in the charset of the merchant's requests. UTF-8 when it
    declares none, or one Alipay does not use."""
    declared = dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True)).get("charset", "")
    return CHARSETS.get(declared.strip().lower(), "utf-8")


def _form(body: bytes) -> dict[str, str]:
    """A form-encoded notification's parameters, read in the charset it declares."""
    charset = _charset(body)
    try:
        text = body.decode(charset)
        return dict(parse_qsl(text, keep_blank_values=True, encoding=charset, errors="strict"))
    except (UnicodeDecodeError, ValueError):
        return {}


def _yuan(value) -> Decimal | None:
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return amount if amount.is_finite() and amount == amount.quantize(Decimal("0.01")) else None


def parse_trade_bill(archive: bytes) -> list[BillEntry]:
    """Alipay's `trade` bill: a zip of GBK CSV files, the detail (a row per 交易 or 退款) and a
    summary, each table between comment lines starting with `#`. The detail is the file whose
    table has the refund's request number column; a refund's row has negative amounts.
    Fees are kept as charged: positive on a payment, negative on a refund (given back)."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as files:
            tables = [_table(files.read(name).decode("gbk")) for name in files.namelist()]
    except (zipfile.BadZipFile, UnicodeDecodeError, KeyError) as exc:
        raise GatewayUnavailable(f"支付宝账单无法读取：{exc}") from None
    detail = next((t for t in tables if t and "退款批次号/请求号" in t[0]), None)
    if detail is None:
        raise GatewayUnavailable("支付宝账单缺少业务明细")
    column = {name.strip(): index for index, name in enumerate(detail[0])}
    entries = []
    for row in detail[1:]:
        field = {name: row[index].strip() for name, index in column.items() if index < len(row)}
        refund = field.get("业务类型") == "退款"
        finished = field.get("完成时间") or field.get("创建时间", "")
        entries.append(
            BillEntry(
                order_number=field["商户订单号"],
                amount=abs(Decimal(field["订单金额（元）"])),
                refund_number=field.get("退款批次号/请求号", "") if refund else "",
                transaction_id=field.get("支付宝交易号", ""),
                # shown as money out (-0.18 for a payment, 0.18 back with a refund)
                fee=-Decimal(field.get("服务费（元）") or "0"),
                occurred_at=datetime.strptime(finished, "%Y-%m-%d %H:%M:%S").replace(
                    tzinfo=CHINA_TIME
                )
                if finished
                else None,
            )
        )
    return entries


def _table(text: str) -> list[list[str]]:
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return list(csv.reader(lines))
