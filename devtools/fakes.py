"""Local fakes of WeChat Pay (API v3) and Alipay, speaking their protocols with keys made here.

Neither provider has a test server for these APIs, so the tests, and anyone
trying a purchase on their own machine, use these. They are the providers' side, written
apart from the adapters: they check the merchant's request signatures, answer signed, keep
the trades they opened, and when "paid" send the provider's real notification (signed and,
for WeChat Pay, encrypted) to the notify URL the merchant gave.

Run by hand:

    .venv/bin/python manage.py fake_gateways --port 9100 --keys .fake-gateways

It makes the keys the first time, prints the platform's settings for them, and serves
`/wechat/v3/...`, `/alipay/gateway.do`, and at `/` a page standing for the buyer's phone that
lists the open trades with a button to pay each. `FAKE_GATEWAYS=true bin/run` does all this.
"""

import base64
import csv
import hashlib
import html
import io
import json
import secrets
import threading
import time
import zipfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from payments.gateways.base import CHINA_TIME
from payments.gateways.keys import private_key, public_key, rsa_sign, rsa_verify

from . import fake_base
from .fake_agreements import (
    CLOCK,
    PAPAY_PLAN_ID,
    AlipayAgreements,
    WeChatContracts,
    contract_rows,
    fake_now,
    signing_page,
)
from .fake_base import (
    ALIPAY_APP_ID,
    ALIPAY_SELLER_ID,
    APPID,
    CERT_SERIAL,
    MCHID,
    PUBLIC_KEY_ID,
    Trade,
    alipay_signing_text,
)

KEY_FILES = (
    "wechat-merchant",  # the merchant's key pair: the platform signs with the private half
    "wechat-platform",  # WeChat Pay's: the fake signs, the platform verifies with the public
    "alipay-app",  # the app's (the platform's) key pair
    "alipay",  # Alipay's own
)


def make_keys(directory: Path) -> None:
    """RSA 2048 key pairs and an APIv3 key in `directory`, unless they are there already."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in KEY_FILES:
        if (directory / f"{name}-private.pem").exists():
            continue
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (directory / f"{name}-private.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        (directory / f"{name}-public.pem").write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    apiv3 = directory / "wechat-apiv3.key"
    if not apiv3.exists():
        apiv3.write_text(secrets.token_hex(16))  # 32 characters: the key is their bytes


def fee(amount: Decimal) -> Decimal:
    """What the fakes charge: 0.6 % of the amount, as both providers' usual rate."""
    return (amount * Decimal("0.006")).quantize(Decimal("0.01"))


# `fail_next = "trickle"`: the answer's headers at once, then its body one byte every
# TRICKLE_SECONDS (a provider that answers slowly, not one that never answers).
TRICKLE_HEADER = "X-Fake-Trickle"
TRICKLE_SECONDS = 0.25


class FakeWeChatPay:
    def __init__(self, keys: Path) -> None:
        self.keys = keys
        self.apiv3_key = (keys / "wechat-apiv3.key").read_text().strip()
        self.trades: dict[str, Trade] = {}
        self.base_url = ""  # set by FakeGateways: where its bills are downloaded
        self.site = ""  # set by FakeGateways: the member's pages (signing)
        self.papay = WeChatContracts(self)  # 委托代扣
        self.bills: dict[str, bytes] = {}  # by download token
        self.bills_ready = True  # False: "NO_STATEMENT_EXIST", as before 10:00 the next day
        self.corrupt_bills = False  # True: the file changes on the way (its hash fails)
        # "timeout", "trickle", a status, or "bad-signature"
        self.fail_next: str | int | None = None
        self.requests: list[tuple[str, str]] = []

    def settings(self, base_url: str) -> dict[str, str]:
        return {
            "WECHATPAY_MCHID": MCHID,
            "WECHATPAY_APPID": APPID,
            "WECHATPAY_APIV3_KEY": self.apiv3_key,
            "WECHATPAY_PRIVATE_KEY": str(self.keys / "wechat-merchant-private.pem"),
            "WECHATPAY_CERT_SERIAL": CERT_SERIAL,
            "WECHATPAY_PUBLIC_KEY": str(self.keys / "wechat-platform-public.pem"),
            "WECHATPAY_PUBLIC_KEY_ID": PUBLIC_KEY_ID,
            "WECHATPAY_BASE_URL": base_url,
            "WECHATPAY_PAPAY_PLAN_ID": PAPAY_PLAN_ID,
        }

    # --- signing, as WeChat Pay does -------------------------------------------------------

    def signed_headers(self, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        timestamp = str(int(time.time()) if timestamp is None else timestamp)
        nonce = secrets.token_hex(16)
        message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
        key = private_key(str(self.keys / "wechat-platform-private.pem"))
        return {
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": base64.b64encode(rsa_sign(key, message)).decode(),
            "Wechatpay-Serial": PUBLIC_KEY_ID,
        }

    def notification(
        self,
        trade: Trade,
        *,
        total: int | None = None,
        mchid: str = MCHID,
        timestamp: int | None = None,
        tamper: bool = False,
        trade_type: str = "NATIVE",
        failed: bool = False,
    ) -> tuple[bytes, dict[str, str]]:
        """The TRANSACTION.SUCCESS notification of `trade` (`failed`: a 委托代扣 charge's
        TRANSACTION.FAIL, PAYERROR), encrypted and signed."""
        transaction = {
            "appid": APPID,
            "mchid": mchid,
            "out_trade_no": trade.out_trade_no,
            "transaction_id": trade.transaction_id or f"42000{secrets.token_hex(11)}",
            "trade_type": trade_type,
            "trade_state": "PAYERROR" if failed else "SUCCESS",
            "trade_state_desc": "用户余额不足" if failed else "支付成功",
            "success_time": datetime.now(CHINA_TIME).isoformat(timespec="seconds"),
            "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
            "amount": {
                "total": int(trade.amount * 100) if total is None else total,
                "payer_total": int(trade.amount * 100),
                "currency": "CNY",
                "payer_currency": "CNY",
            },
        }
        return self._event(
            "TRANSACTION.FAIL" if failed else "TRANSACTION.SUCCESS", "transaction", transaction,
            timestamp=timestamp, tamper=tamper,
        )  # fmt: skip

    def _event(
        self,
        event_type: str,
        original_type: str,
        resource: dict,
        *,
        timestamp: int | None = None,
        tamper: bool = False,
    ) -> tuple[bytes, dict[str, str]]:
        """A notification as WeChat Pay sends it: `resource` encrypted, the body signed."""
        nonce, associated = secrets.token_hex(6), original_type
        ciphertext = AESGCM(self.apiv3_key.encode()).encrypt(
            nonce.encode(), json.dumps(resource).encode(), associated.encode()
        )
        if tamper:
            ciphertext = bytes([ciphertext[0] ^ 1]) + ciphertext[1:]
        event = {
            "id": secrets.token_hex(18),
            "create_time": datetime.now(CHINA_TIME).isoformat(timespec="seconds"),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": "支付成功" if original_type == "transaction" else "退款状态变更",
            "resource": {
                "original_type": original_type,
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": base64.b64encode(ciphertext).decode(),
                "associated_data": associated,
                "nonce": nonce,
            },
        }
        body = json.dumps(event, ensure_ascii=False).encode()
        return body, {
            "Content-Type": "application/json",
            **self.signed_headers(body, timestamp=timestamp),
        }

    def pay(self, out_trade_no: str) -> int:
        trade = self.trades[out_trade_no]
        trade.state = "SUCCESS"
        trade.paid_at = datetime.now(CHINA_TIME)
        trade.transaction_id = trade.transaction_id or f"42000{secrets.token_hex(11)}"
        body, headers = self.notification(trade)
        return _deliver(trade, body, headers)

    def settle_charge(self, trade: Trade, *, failed: bool) -> int:
        """A 委托代扣 charge's result, notified as its transaction."""
        trade.state = "PAYERROR" if failed else "SUCCESS"
        trade.paid_at = None if failed else fake_now()
        trade.transaction_id = f"42000{secrets.token_hex(11)}"
        body, headers = self.notification(trade, trade_type="PAP", failed=failed)
        return _deliver(trade, body, headers)

    # --- the API ---------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers, body: bytes) -> tuple[int, dict, bytes]:
        self.requests.append((method, path))
        failure, self.fail_next = self.fail_next, None
        if failure == "timeout":
            time.sleep(3)
        if isinstance(failure, int):
            return self._answer(failure, {"code": "SYSTEM_ERROR", "message": "系统繁忙"})
        if not self._signed_by_merchant(method, path, headers, body):
            return self._answer(401, {"code": "SIGN_ERROR", "message": "签名错误"})
        if "/v3/billdownload/file" in path:  # the file itself is not signed
            token = parse_qs(urlsplit(path).query).get("token", [""])[0]
            if token not in self.bills:
                return self._answer(404, {"code": "RESOURCE_NOT_EXISTS", "message": "文件不存在"})
            return 200, {"Content-Type": "text/plain; charset=utf-8"}, self.bills[token]
        status, answer = self._route(method, path, body)
        status, headers_out, out = self._answer(status, answer)
        if failure == "bad-signature":
            headers_out["Wechatpay-Signature"] = base64.b64encode(b"\0" * 256).decode()
        if failure == "trickle":
            headers_out[TRICKLE_HEADER] = "1"
        return status, headers_out, out

    def _route(self, method: str, path: str, body: bytes) -> tuple[int, dict | None]:
        url = urlsplit(path)
        parts = url.path.split("/v3/", 1)[-1].split("/")
        if parts[0] == "papay":
            answer = self.papay.route(method, parts, body)
            if answer is not None:
                return answer
        if method == "POST" and parts == ["pay", "transactions", "native"]:
            data = json.loads(body)
            if data.get("mchid") != MCHID or data.get("appid") != APPID:
                return 400, {"code": "PARAM_ERROR", "message": "mchid或appid不正确"}
            number = data["out_trade_no"]
            if number in self.trades:
                return 400, {"code": "INVALID_REQUEST", "message": "订单号重复"}
            code = f"weixin://wxpay/bizpayurl?pr={secrets.token_urlsafe(6)}"
            self.trades[number] = Trade(
                "wechat",
                number,
                Decimal(data["amount"]["total"]) / 100,
                data["description"],
                data["notify_url"],
                code,
            )
            return 200, {"code_url": code}
        if parts[:3] == ["refund", "domestic", "refunds"]:
            return self._refund_route(method, parts, body)
        if method == "GET" and parts[:2] == ["bill", "tradebill"]:
            if not self.bills_ready:
                return 400, {"code": "NO_STATEMENT_EXIST", "message": "账单文件不存在"}
            day = date.fromisoformat(parse_qs(url.query)["bill_date"][0])
            content = self.tradebill(day)
            token = secrets.token_urlsafe(12)
            self.bills[token] = content + b"`x\r\n" if self.corrupt_bills else content
            return 200, {
                "hash_type": "SHA1",
                "hash_value": hashlib.sha1(content, usedforsecurity=False).hexdigest(),
                "download_url": f"{self.base_url}/v3/billdownload/file?token={token}",
            }
        if len(parts) in (4, 5) and parts[:3] == ["pay", "transactions", "out-trade-no"]:
            trade = self.trades.get(parts[3])
            if trade is None:
                return 404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
            if method == "GET" and len(parts) == 4:
                return 200, self._transaction(trade)
            if method == "POST" and parts[4:] == ["close"]:
                if trade.state == "SUCCESS":
                    return 400, {"code": "ORDERPAID", "message": "订单已支付"}
                trade.state = "CLOSED"
                return 204, None
        return 404, {"code": "NOT_FOUND", "message": "接口不存在"}

    # "PROCESSING": the next refunds stay processing (a bank card's), until `settle_refunds`.
    refund_status = "SUCCESS"

    def _refund_route(self, method: str, parts: list[str], body: bytes) -> tuple[int, dict]:
        if method == "POST" and len(parts) == 3:
            data = json.loads(body)
            trade = self.trades.get(data.get("out_trade_no", ""))
            if trade is None:
                return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"}
            amount = Decimal(data["amount"]["refund"]) / 100
            if data["amount"]["total"] != int(trade.amount * 100):
                return 400, {"code": "PARAM_ERROR", "message": "订单金额不符"}
            refund = trade.book_refund(data["out_refund_no"], amount, self.refund_status)
            if refund is None:
                return 403, {"code": "NOT_ENOUGH", "message": "可退金额不足"}
            return 200, self._refund(trade, data["out_refund_no"])
        if method == "GET" and len(parts) == 4:
            for trade in self.trades.values():
                if parts[3] in trade.refunds:
                    return 200, self._refund(trade, parts[3])
            return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "退款单不存在"}
        return 404, {"code": "NOT_FOUND", "message": "接口不存在"}

    def _refund(self, trade: Trade, number: str) -> dict:
        refund = trade.refunds[number]
        return {
            "refund_id": refund["id"],
            "out_refund_no": number,
            "transaction_id": trade.transaction_id,
            "out_trade_no": trade.out_trade_no,
            "status": refund["status"],
            "amount": {
                "refund": int(refund["amount"] * 100), "total": int(trade.amount * 100),
                "payer_total": int(trade.amount * 100), "payer_refund": int(refund["amount"] * 100),
                "currency": "CNY",
            },
        }  # fmt: skip

    def refund_notification(
        self, trade: Trade, number: str, *, status: str = "SUCCESS", mchid: str = MCHID
    ) -> tuple[bytes, dict[str, str]]:
        """REFUND.<status> of one of `trade`'s refunds: encrypted and signed, no `appid`."""
        refund = self._refund(trade, number)
        resource = {
            "mchid": mchid,
            "out_trade_no": trade.out_trade_no,
            "transaction_id": trade.transaction_id,
            "out_refund_no": number,
            "refund_id": refund["refund_id"],
            "refund_status": status,
            "success_time": datetime.now(CHINA_TIME).isoformat(timespec="seconds"),
            "amount": {k: v for k, v in refund["amount"].items() if k != "currency"},
        }
        return self._event(f"REFUND.{status}", "refund", resource)

    TRADEBILL_HEADER = (
        "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,"
        "付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,"
        "退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
    )

    def tradebill(self, day: date) -> bytes:
        """The day's `tradebill` (ALL) as WeChat Pay writes it: every field of a line behind a
        backtick, then the totals."""
        out = io.StringIO()
        out.write(self.TRADEBILL_HEADER + "\r\n")
        rows, settled, refunded, fees = 0, Decimal("0.00"), Decimal("0.00"), Decimal("0.00")
        for trade in self.trades.values():
            when = f"{(trade.paid_at or datetime.now(CHINA_TIME)):%Y-%m-%d %H:%M:%S}"
            lines = []
            if trade.paid_on(day):
                lines.append([when, APPID, MCHID, "0", "", trade.transaction_id,
                              trade.out_trade_no, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "NATIVE",
                              "SUCCESS", "OTHERS", "CNY", f"{trade.amount:.2f}", "0.00", "0", "0",
                              "0.00", "0.00", "", "", trade.subject, "", f"{fee(trade.amount):.2f}",
                              "0.60%", f"{trade.amount:.2f}", "0.00", ""])  # fmt: skip
                settled += trade.amount
                fees += fee(trade.amount)
            for number, refund in trade.refunds_on(day):
                lines.append([f"{refund['at']:%Y-%m-%d %H:%M:%S}", APPID, MCHID, "0", "",
                              trade.transaction_id, trade.out_trade_no,
                              "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "NATIVE", "REFUND", "OTHERS", "CNY",
                              "0.00", "0.00", refund["id"], number, f"{refund['amount']:.2f}",
                              "0.00", "ORIGINAL", refund["status"], trade.subject, "",
                              f"{-fee(refund['amount']):.2f}", "0.60%", f"{trade.amount:.2f}",
                              f"{refund['amount']:.2f}", ""])  # fmt: skip
                refunded += refund["amount"]
                fees -= fee(refund["amount"])
            for line in lines:
                out.write(",".join(f"`{value}" for value in line) + "\r\n")
                rows += 1
        out.write(
            "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n"
        )
        out.write(f"`{rows},`{settled:.2f},`{refunded:.2f},`0.00,`{fees:.2f},`{settled:.2f},"
                  f"`{refunded:.2f}\r\n")  # fmt: skip
        return out.getvalue().encode("utf-8")

    def settle_refunds(self, trade: Trade, status: str = "SUCCESS") -> None:
        for refund in trade.refunds.values():
            refund["status"] = status

    def _transaction(self, trade: Trade) -> dict:
        return {
            "appid": APPID,
            "mchid": MCHID,
            "out_trade_no": trade.out_trade_no,
            "transaction_id": trade.transaction_id,
            "trade_state": trade.state,
            "amount": {"total": int(trade.amount * 100), "currency": "CNY"},
        }

    def _answer(self, status: int, answer: dict | None) -> tuple[int, dict, bytes]:
        body = b"" if answer is None else json.dumps(answer, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", **self.signed_headers(body)}
        return status, headers, body

    def _signed_by_merchant(self, method: str, path: str, headers, body: bytes) -> bool:
        authorization = headers.get("Authorization", "")
        scheme, _, fields = authorization.partition(" ")
        if scheme != "WECHATPAY2-SHA256-RSA2048":
            return False
        values = dict(part.split("=", 1) for part in fields.split(",") if "=" in part)
        values = {name.strip(): value.strip('"') for name, value in values.items()}
        if values.get("mchid") != MCHID or values.get("serial_no") != CERT_SERIAL:
            return False
        message = (
            f"{method}\n{path}\n{values.get('timestamp')}\n{values.get('nonce_str')}\n".encode()
            + body
            + b"\n"
        )
        key = public_key(str(self.keys / "wechat-merchant-public.pem"))
        try:
            signature = base64.b64decode(values.get("signature", ""))
        except ValueError:
            return False
        return rsa_verify(key, signature, message)


class FakeAlipay:
    def __init__(self, keys: Path) -> None:
        self.keys = keys
        self.trades: dict[str, Trade] = {}
        self.fail_next: str | int | None = None
        self.requests: list[str] = []
        self.base_url = ""  # set by FakeGateways: where its bills are downloaded
        self.bills: dict[str, bytes] = {}  # by download token
        self.bills_ready = True  # False: "isp.bill_not_exist"
        self.corrupt_bills = False  # (WeChat Pay's alone has a hash to check)
        self.cycle = AlipayAgreements(self)  # 周期扣款

    def settings(self, gateway_url: str) -> dict[str, str]:
        return {
            "ALIPAY_APP_ID": ALIPAY_APP_ID,
            "ALIPAY_PRIVATE_KEY": str(self.keys / "alipay-app-private.pem"),
            "ALIPAY_PUBLIC_KEY": str(self.keys / "alipay-public.pem"),
            "ALIPAY_GATEWAY_URL": gateway_url,
            "ALIPAY_SELLER_ID": ALIPAY_SELLER_ID,
        }

    def sign(self, message: bytes) -> str:
        key = private_key(str(self.keys / "alipay-private.pem"))
        return base64.b64encode(rsa_sign(key, message)).decode()

    def notification(
        self,
        trade: Trade,
        *,
        total_amount: str | None = None,
        app_id: str = ALIPAY_APP_ID,
        trade_status: str = "TRADE_SUCCESS",
        forged: bool = False,
        charset: str = "utf-8",
        extra: dict[str, str] | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """A notification as Alipay sends it: in the charset the merchant's requests use
        (`charset`, "utf-8" or "gbk"), signed over that charset's bytes, form-encoded in it."""
        now = datetime.now(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S")
        amount = total_amount or f"{trade.amount:.2f}"
        params = {
            "notify_time": now,
            "notify_type": "trade_status_sync",
            "notify_id": secrets.token_hex(16),
            "app_id": app_id,
            "charset": charset,
            "version": "1.0",
            "sign_type": "RSA2",
            "trade_no": trade.transaction_id or f"2026{secrets.token_hex(12)}",
            "out_trade_no": trade.out_trade_no,
            "trade_status": trade_status,
            "total_amount": amount,
            "receipt_amount": amount,
            "buyer_pay_amount": amount,
            "seller_id": ALIPAY_SELLER_ID,
            "subject": trade.subject,
            "gmt_payment": now,
            **(extra or {}),
        }
        signing = alipay_signing_text(params, leave_out=("sign", "sign_type"), charset=charset)
        if forged:
            other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            params["sign"] = base64.b64encode(rsa_sign(other, signing)).decode()
        else:
            params["sign"] = self.sign(signing)
        body = urlencode(params, encoding=charset).encode("ascii")
        return body, {"Content-Type": f"application/x-www-form-urlencoded; charset={charset}"}

    def pay(self, out_trade_no: str) -> int:
        trade = self.trades[out_trade_no]
        trade.state = "SUCCESS"
        trade.paid_at = datetime.now(CHINA_TIME)
        trade.transaction_id = trade.transaction_id or f"2026{secrets.token_hex(12)}"
        body, headers = self.notification(trade)
        return _deliver(trade, body, headers)

    DETAIL_HEADER = (
        "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,"
        "对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,"
        "商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,"
        "退款批次号/请求号,服务费（元）,分润（元）,备注"
    )

    def trade_bill(self, day: date) -> bytes:
        """The day's `trade` bill as Alipay makes it: a zip of two GBK CSV files, the detail
        and the summary, each table between `#` comment lines."""
        rows, paid, refunded = [], Decimal("0.00"), Decimal("0.00")
        for trade in self.trades.values():
            if trade.paid_on(day):
                when = f"{(trade.paid_at or datetime.now(CHINA_TIME)):%Y-%m-%d %H:%M:%S}"
                rows.append([trade.transaction_id, trade.out_trade_no, "交易", trade.subject, when,
                             when, "", "", "", "", "buy***@example.com", f"{trade.amount:.2f}",
                             f"{trade.amount:.2f}", "0.00", "0.00", "0.00", "0.00", "0.00", "",
                             "0.00", "0.00", "", f"{-fee(trade.amount):.2f}", "0.00",
                             ""])  # fmt: skip
                paid += trade.amount
            for number, refund in trade.refunds_on(day):
                when = f"{refund['at']:%Y-%m-%d %H:%M:%S}"
                rows.append([trade.transaction_id, trade.out_trade_no, "退款", trade.subject, when,
                             when, "", "", "", "", "buy***@example.com",
                             f"{-refund['amount']:.2f}", f"{-refund['amount']:.2f}", "0.00",
                             "0.00", "0.00", "0.00", "0.00", "", "0.00", "0.00", number,
                             f"{fee(refund['amount']):.2f}", "0.00", ""])  # fmt: skip
                refunded += refund["amount"]
        table = io.StringIO()
        csv.writer(table, lineterminator="\r\n").writerows([self.DETAIL_HEADER.split(","), *rows])
        span = f"[{day:%Y年%m月%d日} 00:00:00]"
        detail = (
            f"#支付宝业务明细查询\r\n#账号：[{ALIPAY_SELLER_ID}0156]\r\n#起始日期：{span}\r\n"
            f"#{'-' * 40}业务明细列表{'-' * 40}\r\n"
            + table.getvalue()
            + f"#{'-' * 40}业务明细列表结束{'-' * 36}\r\n"
            f"#交易合计：{len(rows)}笔，商家实收共{paid:.2f}元\r\n#退款合计：共{refunded:.2f}元\r\n"
        )
        summary = (
            f"#支付宝业务汇总查询\r\n#账号：[{ALIPAY_SELLER_ID}0156]\r\n"
            "门店编号,门店名称,交易订单总笔数,退款订单总笔数,已收入金额（元）\r\n"
            f"合计,,{len(rows)},0,{paid - refunded:.2f}\r\n#导出时间：{span}\r\n"
        )
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as files:
            files.writestr(
                f"{ALIPAY_SELLER_ID}0156_{day:%Y%m%d}_业务明细.csv", detail.encode("gbk")
            )
            files.writestr(
                f"{ALIPAY_SELLER_ID}0156_{day:%Y%m%d}_业务明细(汇总).csv", summary.encode("gbk")
            )
        return archive.getvalue()

    def console_refund(
        self, out_trade_no: str, amount: Decimal, *, request_number: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """A refund made in the merchant's console, and the notification Alipay then sends:
        TRADE_SUCCESS with `refund_fee` after a partial one, TRADE_CLOSED after a full one.
        A full refund without a request number is known by the order's number."""
        trade = self.trades[out_trade_no]
        full = trade.refunded() + amount >= trade.amount
        number = request_number or (out_trade_no if full else f"console{secrets.token_hex(6)}")
        assert trade.book_refund(number, amount) is not None
        trade.refunds[number]["answered"] = True
        extra = {
            "refund_fee": f"{trade.refunded():.2f}",
            "gmt_refund": datetime.now(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S"),
        }
        if request_number or not full:
            extra["out_biz_no"] = number
        return self.notification(
            trade, trade_status="TRADE_CLOSED" if full else "TRADE_SUCCESS", extra=extra
        )

    def handle(self, body: bytes) -> tuple[int, dict, bytes]:
        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        method = params.get("method", "")
        self.requests.append(method)
        failure, self.fail_next = self.fail_next, None
        if failure == "timeout":
            time.sleep(3)
        if isinstance(failure, int):
            return failure, {"Content-Type": "text/html"}, b"<h1>502 Bad Gateway</h1>"
        name = method.replace(".", "_") + "_response"
        if not self._signed_by_app(params):
            answer = {
                "code": "40002",
                "msg": "Invalid Arguments",
                "sub_code": "isv.invalid-signature",
            }
        else:
            answer = self._route(method, params)
        text = json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
        sign = self.sign(text.encode())
        if failure == "bad-signature":
            sign = base64.b64encode(b"\0" * 256).decode()
        out = f'{{"{name}":{text},"sign":"{sign}"}}'.encode()
        headers = {"Content-Type": "application/json;charset=utf-8"}
        if failure == "trickle":
            headers[TRICKLE_HEADER] = "1"
        return 200, headers, out

    def _route(self, method: str, params: dict) -> dict:
        biz = json.loads(params.get("biz_content") or "{}")
        answer = self.cycle.route(method, biz, params)
        if answer is not None:
            return answer
        if method == "alipay.data.dataservice.bill.downloadurl.query":
            if not self.bills_ready:
                return {"code": "40004", "msg": "Business Failed", "sub_code": "isp.bill_not_exist"}
            token = secrets.token_urlsafe(12)
            self.bills[token] = self.trade_bill(date.fromisoformat(biz["bill_date"]))
            return {
                "code": "10000",
                "msg": "Success",
                "bill_download_url": f"{self.base_url}/alipay/bill?token={token}",
            }
        number = biz.get("out_trade_no", "")
        trade = self.trades.get(number)
        ok = {"code": "10000", "msg": "Success", "out_trade_no": number}
        if method == "alipay.trade.precreate":
            if trade is not None:
                return {
                    "code": "40004",
                    "msg": "Business Failed",
                    "sub_code": "ACQ.TRADE_HAS_SUCCESS",
                }
            code = f"https://qr.alipay.com/bax{secrets.token_hex(10)}"
            self.trades[number] = Trade(
                "alipay", number, Decimal(biz["total_amount"]), biz["subject"],
                params.get("notify_url", ""), code,
            )  # fmt: skip
            return {**ok, "qr_code": code}
        if trade is None:
            return {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST"}
        if method == "alipay.trade.query":
            status = {"NOTPAY": "WAIT_BUYER_PAY", "SUCCESS": "TRADE_SUCCESS"}.get(
                trade.state, "TRADE_CLOSED"
            )
            if trade.state == "REFUND" and trade.refunded() < trade.amount:
                status = "TRADE_SUCCESS"  # a partial refund leaves the trade as it was
            return {
                **ok, "trade_no": trade.transaction_id, "trade_status": status,
                "total_amount": f"{trade.amount:.2f}",
            }  # fmt: skip
        if method == "alipay.trade.refund":
            refund = trade.book_refund(biz["out_request_no"], Decimal(biz["refund_amount"]))
            if refund is None:
                return {
                    "code": "40004",
                    "msg": "Business Failed",
                    "sub_code": "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
                }
            repeat = refund.get("answered", False)
            refund["answered"] = True
            return {
                **ok, "trade_no": trade.transaction_id, "fund_change": "N" if repeat else "Y",
                "refund_fee": f"{trade.refunded():.2f}",
            }  # fmt: skip
        if method == "alipay.trade.fastpay.refund.query":
            refund = trade.refunds.get(biz.get("out_request_no", ""))
            if refund is None:
                return {**ok, "out_request_no": biz.get("out_request_no", "")}
            return {
                **ok, "trade_no": trade.transaction_id, "out_request_no": biz["out_request_no"],
                "refund_amount": f"{refund['amount']:.2f}", "refund_status": "REFUND_SUCCESS",
            }  # fmt: skip
        if method == "alipay.trade.close":
            if trade.state == "SUCCESS":
                return {
                    "code": "40004",
                    "msg": "Business Failed",
                    "sub_code": "ACQ.TRADE_STATUS_ERROR",
                }
            trade.state = "CLOSED"
            return ok
        return {"code": "40004", "msg": "Business Failed", "sub_code": "isv.invalid-method"}

    def _signed_by_app(self, params: dict) -> bool:
        if params.get("app_id") != ALIPAY_APP_ID or params.get("sign_type") != "RSA2":
            return False
        try:
            signature = base64.b64decode(params.get("sign", ""))
        except ValueError:
            return False
        key = public_key(str(self.keys / "alipay-app-public.pem"))
        return rsa_verify(key, signature, alipay_signing_text(params))


def _deliver(trade: Trade, body: bytes, headers: dict) -> int:
    status = fake_base.post(trade.notify_url, body, headers)
    trade.notified.append(status)
    return status


def gateway_settings(keys: Path, url: str) -> dict[str, str]:
    """The settings that point the platform at fakes served at `url` with `keys`."""
    make_keys(keys)
    return {
        **FakeWeChatPay(keys).settings(f"{url}/wechat"),
        **FakeAlipay(keys).settings(f"{url}/alipay/gateway.do"),
    }


class FakeGateways:
    """Both fakes behind one HTTP server: `/wechat/v3/...`, `/alipay/gateway.do`, and the
    buyer's phone at `/`."""

    def __init__(self, keys: Path, *, host: str = "127.0.0.1", port: int = 0) -> None:
        make_keys(keys)
        self.wechat = FakeWeChatPay(keys)
        self.alipay = FakeAlipay(keys)
        self.server = ThreadingHTTPServer((host, port), _handler(self))
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self.wechat.base_url = f"{self.url}/wechat"
        self.wechat.site = self.url
        self.alipay.base_url = self.url

    def settings(self) -> dict[str, str]:
        return gateway_settings(self.wechat.keys, self.url)

    def trade(self, out_trade_no: str) -> Trade | None:
        return self.wechat.trades.get(out_trade_no) or self.alipay.trades.get(out_trade_no)

    def pay(self, out_trade_no: str) -> int:
        trade = self.trade(out_trade_no)
        fake = self.wechat if trade.provider == "wechat" else self.alipay
        return fake.pay(out_trade_no)

    def start(self) -> "FakeGateways":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(fakes: FakeGateways):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            page = _signing_page(fakes, self.path)
            if page is not None:
                return self._send(200, {"Content-Type": "text/html; charset=utf-8"}, page)
            if self.path.startswith("/wechat/"):
                return self._send(*fakes.wechat.handle("GET", self.path, self.headers, b""))
            if self.path.startswith("/alipay/bill?"):
                token = parse_qs(urlsplit(self.path).query).get("token", [""])[0]
                if token not in fakes.alipay.bills:
                    return self._send(404, {}, b"")
                return self._send(
                    200, {"Content-Type": "application/zip"}, fakes.alipay.bills[token]
                )
            if self.path == "/":
                return self._send(200, {"Content-Type": "text/html; charset=utf-8"}, _phone(fakes))
            return self._send(404, {}, b"")

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.startswith("/wechat/"):
                return self._send(*fakes.wechat.handle("POST", self.path, self.headers, body))
            if self.path == "/alipay/gateway.do":
                return self._send(*fakes.alipay.handle(body))
            if _agreement_action(fakes, self.path, body):
                return self._send(303, {"Location": "/"}, b"")
            if self.path == "/pay":
                number = dict(parse_qsl(body.decode())).get("out_trade_no", "")
                if fakes.trade(number) is None:
                    return self._send(404, {}, "没有这笔交易".encode())
                fakes.pay(number)
                return self._send(303, {"Location": "/"}, b"")
            if self.path == "/alipay/console-refund":  # the merchant refunds in its console
                form = dict(parse_qsl(body.decode()))
                trade = fakes.alipay.trades.get(form.get("out_trade_no", ""))
                if trade is None or trade.state not in ("SUCCESS", "REFUND"):
                    return self._send(404, {}, "没有可退款的支付宝交易".encode())
                note, headers = fakes.alipay.console_refund(
                    trade.out_trade_no,
                    Decimal(form.get("amount") or trade.amount - trade.refunded()),
                )
                _deliver(trade, note, headers)
                return self._send(303, {"Location": "/"}, b"")
            return self._send(404, {}, b"")

        def _send(self, status: int, headers: dict, body: bytes):
            trickle = headers.pop(TRICKLE_HEADER, None)
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            if not trickle:
                self.wfile.write(body)
                return
            try:  # a provider that answers at once, then sends its answer a byte at a time
                for index in range(len(body)):
                    self.wfile.write(body[index : index + 1])
                    self.wfile.flush()
                    time.sleep(TRICKLE_SECONDS)
            except OSError:
                pass  # the client gave up

        def log_message(self, format, *args):  # quiet: the platform logs what matters
            pass

    return Handler


def _phone(fakes: FakeGateways) -> bytes:
    rows = []
    for trade in [*fakes.wechat.trades.values(), *fakes.alipay.trades.values()][::-1]:
        provider = "微信支付" if trade.provider == "wechat" else "支付宝"
        if trade.state == "NOTPAY":
            action = (
                f'<form method="post" action="/pay"><input type="hidden" name="out_trade_no" '
                f'value="{html.escape(trade.out_trade_no)}">'
                f'<button type="submit">用{provider}支付 ¥{trade.amount:.2f}</button></form>'
            )
        else:
            answers = ", ".join(str(s) for s in trade.notified) or "-"
            action = f"{trade.state}（通知应答：{answers}）"
            if trade.refunds:
                action += f"，已退款 ¥{trade.refunded():.2f}"
            if trade.provider == "alipay" and trade.refunded() < trade.amount:
                number = html.escape(trade.out_trade_no)
                action += (
                    '<form method="post" action="/alipay/console-refund">'
                    f'<input type="hidden" name="out_trade_no" value="{number}">'
                    '<input name="amount" size="6" placeholder="金额"> '
                    "<button type=submit>在商户后台退款</button></form>"
                )
        rows.append(
            f"<tr><td>{provider}</td><td>{html.escape(trade.out_trade_no)}</td>"
            f"<td>{html.escape(trade.subject)}</td><td>{action}</td></tr>"
        )
    return (
        "<!doctype html><meta charset=utf-8><title>模拟支付（本地）</title>"
        "<h1>模拟手机支付：微信支付 / 支付宝（本地假网关）</h1>"
        "<table border=1 cellpadding=6><tr><th>渠道</th><th>商户订单号</th><th>商品</th>"
        f"<th></th></tr>{''.join(rows) or '<tr><td colspan=4>还没有交易</td></tr>'}</table>"
        + contract_rows(
            [*fakes.wechat.papay.contracts.values(), *fakes.alipay.cycle.contracts.values()]
        )
        + '<form method="post" action="/clock"><input name="days" size="4" value="1"> '
        "<button type=submit>网关时钟前进（天）</button></form>"
    ).encode()


def _signing_page(fakes: FakeGateways, path: str) -> bytes | None:
    """The providers' signing pages the member's QR code opens: WeChat Pay's `redirect_url`,
    Alipay's gateway URL with the signed `alipay.user.agreement.page.sign`."""
    url = urlsplit(path)
    if url.path.startswith("/papay/sign/"):
        contract = fakes.wechat.papay.contracts.get(url.path.rsplit("/", 1)[-1])
        return None if contract is None else signing_page(contract, url.path)
    if url.path == "/alipay/gateway.do" and url.query:
        contract = fakes.alipay.cycle.open_page(dict(parse_qsl(url.query)))
        if contract is not None:
            return signing_page(contract, f"/alipay/agreement/sign/{contract.number}")
    if url.path.startswith("/alipay/agreement/sign/"):
        contract = fakes.alipay.cycle.contracts.get(url.path.rsplit("/", 1)[-1])
        return None if contract is None else signing_page(contract, url.path)
    return None


def _agreement_action(fakes: FakeGateways, path: str, body: bytes) -> bool:
    """The member's buttons: sign, unsign in the app; and the fakes' clock moving on."""
    number = path.rsplit("/", 1)[-1]
    if path.startswith("/papay/sign/") and number in fakes.wechat.papay.contracts:
        fakes.wechat.papay.sign(number)
    elif path.startswith("/alipay/agreement/sign/") and number in fakes.alipay.cycle.contracts:
        fakes.alipay.cycle.sign(number)
    elif path.startswith("/agreement/unsign/wechat/") and number in fakes.wechat.papay.contracts:
        fakes.wechat.papay.end(fakes.wechat.papay.contracts[number])
    elif path.startswith("/agreement/unsign/alipay/") and number in fakes.alipay.cycle.contracts:
        fakes.alipay.cycle.end(fakes.alipay.cycle.contracts[number])
    elif path.startswith("/agreement/short-balance/wechat/"):
        fakes.wechat.papay.short_balance += 1
    elif path.startswith("/agreement/short-balance/alipay/"):
        fakes.alipay.cycle.short_balance += 1
    elif path == "/clock":
        form = dict(parse_qsl(body.decode()))
        try:  # `at`: an ISO time with its offset, which the fakes' clock reads from now on
            if form.get("at"):
                CLOCK["offset"] = datetime.fromisoformat(form["at"]) - datetime.now(CHINA_TIME)
            else:
                CLOCK["offset"] += timedelta(days=float(form.get("days") or 0))
        except (TypeError, ValueError):
            return False  # not a time: a 404, the clock unmoved
    else:
        return False
    return True
