"""The fakes' side of 连续包月: WeChat Pay's 委托代扣 contracts (API v3) and Alipay's 周期扣款
agreements, with the rules each provider holds the merchant to.

- WeChat Pay: a contract signed on its signing page (`redirect_url`, the QR code's page), told
  as PAPAY.SIGN; a pre-debit notice only 07:00–22:00, its day and the next a wait, then
  `WECHATPAY_PRE_DEBIT_DAYS` days when one charge of at most the notified amount is allowed
  (no notice needed within 12 hours of the signing), charges only 07:00–22:00; a charge's
  result notified as a transaction (SUCCESS, or PAYERROR when the member's balance is short);
  unsigning in "the app" told as PAPAY.TERMINATE (mode USER).
- Alipay: `alipay.user.agreement.page.sign` opened as a page (its signed URL checked), signed
  there, told as `dut_user_sign`; `alipay.trade.pay` with the agreement answered at once
  (40004 ACQ.BUYER_BALANCE_NOT_ENOUGH when short), no more than the agreed single amount;
  unsigning in "the app" told as `dut_user_unsign`.

A charge the rules refuse is kept in `Contract.refused`: the tests assert it stays empty.
Time is `fake_now()`: the machine's clock (which the tests move with time-machine) plus the
offset `POST /clock` sets (a rehearsal against a running platform moves both).
"""

import html
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from payments.gateways.base import CHINA_TIME

from . import fake_base
from .fake_base import ALIPAY_APP_ID, APPID, MCHID, Trade, alipay_signing_text

PAPAY_PLAN_ID = "12535"
PRE_DEBIT_DAYS = 7
CLOCK = {"offset": timedelta(0)}


def fake_now() -> datetime:
    return datetime.now(CHINA_TIME) + CLOCK["offset"]


def within_hours(moment: datetime) -> bool:
    return 7 <= moment.astimezone(CHINA_TIME).hour < 22


@dataclass
class Contract:
    provider: str  # "wechat" or "alipay"
    number: str  # the merchant's (out_contract_code / external_agreement_no)
    notify_url: str
    single_amount: Decimal | None = None  # Alipay's period rule
    state: str = "SIGNING"  # SIGNING, SIGNED, TERMINATED
    contract_id: str = ""  # WeChat Pay's contract_id / Alipay's agreement_no
    signed_at: datetime | None = None
    # WeChat Pay's pre-debit notices: [day, amount in fen, used by a charge]
    notices: list[list] = field(default_factory=list)
    charges: list[str] = field(default_factory=list)  # the trades charged (any result)
    refused: list[str] = field(default_factory=list)  # charges the rules refused, and why
    notified: list[int] = field(default_factory=list)  # the merchant's answers

    def charge_allowed(self, fen: int, now: datetime) -> tuple[str, list | None]:
        """WeChat Pay's rule for a charge now: ("" when allowed, the notice it goes under,
        which a successful charge uses up: one per cycle; a failed one may be tried again in
        the notice's window)."""
        if not within_hours(now):
            return "RULE_LIMIT: 07:00–22:00 only", None
        if not self.charges and self.signed_at and now - self.signed_at < timedelta(hours=12):
            return "", None
        today = now.date()
        for notice in self.notices:
            day, amount, used = notice
            if not used and day + timedelta(days=2) <= today <= day + timedelta(
                days=1 + PRE_DEBIT_DAYS
            ):
                if fen > amount:
                    return "RULE_LIMIT: more than the notified amount", None
                return "", notice
        return "RULE_LIMIT: no pre-debit notice for today", None


class WeChatContracts:
    """What the fake WeChat Pay keeps of 委托代扣: contracts by our number."""

    def __init__(self, fake) -> None:
        self.fake = fake  # the FakeWeChatPay
        self.contracts: dict[str, Contract] = {}
        self.short_balance = 0  # the next this many charges fail (PAYERROR: balance short)

    def by_id(self, contract_id: str) -> Contract | None:
        return next((c for c in self.contracts.values() if c.contract_id == contract_id), None)

    def route(self, method: str, parts: list[str], body: bytes) -> tuple[int, dict | None] | None:
        """`/v3/papay/...`; None: not one of these."""
        data = json.loads(body) if body else {}
        now = fake_now()
        if method == "POST" and parts == ["papay", "sign", "contracts", "pre-entrust-sign"]:
            if data.get("appid") != APPID or str(data.get("plan_id")) != PAPAY_PLAN_ID:
                return 400, {"code": "PARAM_ERROR", "message": "appid或plan_id不正确"}
            if data.get("sign_scene") != "SIGN_SCENE_QRCODE":
                return 400, {"code": "PARAM_ERROR", "message": "sign_scene不正确"}
            number = data["out_contract_code"]
            self.contracts.setdefault(
                number, Contract("wechat", number, data["contract_notify_url"])
            )
            return 200, {
                "pre_entrustweb_id": secrets.token_hex(16),
                "redirect_url": f"{self.fake.site}/papay/sign/{number}",
            }
        if method == "POST" and parts[:2] == ["papay", "contracts"] and parts[3:] == ["notify"]:
            contract = self.by_id(parts[2])
            if contract is None or contract.state != "SIGNED":
                return 400, {"code": "CONTRACT_NOT_EXIST", "message": "签约协议不存在"}
            if data.get("mchid") != MCHID or data.get("appid") != APPID:
                return 400, {"code": "PARAM_ERROR", "message": "mchid或appid不正确"}
            if not within_hours(now):
                return 403, {"code": "RULE_LIMIT", "message": "预扣费通知只能在7:00–22:00发送"}
            amount = data["estimated_amount"]["amount"]
            contract.notices.append([now.date(), amount, False])
            return 204, None
        if method == "POST" and parts == ["papay", "pay", "transactions", "apply"]:
            contract = self.by_id(data.get("contract_id", ""))
            if data.get("appid") != APPID:
                return 400, {"code": "PARAM_ERROR", "message": "appid不正确"}
            if contract is None or contract.state != "SIGNED":
                return 400, {"code": "CONTRACT_NOT_EXIST", "message": "签约协议不存在或已解约"}
            number, fen = data["out_trade_no"], data["amount"]["total"]
            if number in self.fake.trades:
                return 400, {"code": "INVALID_REQUEST", "message": "订单号重复"}
            problem, notice = contract.charge_allowed(fen, now)
            if problem:
                contract.refused.append(f"{number} {problem}")
                return 403, {"code": "RULE_LIMIT", "message": problem}
            trade = Trade(
                "wechat", number, Decimal(fen) / 100, data["description"],
                data["transaction_notify_url"], "",
            )  # fmt: skip
            self.fake.trades[number] = trade
            contract.charges.append(number)
            failed = self.short_balance > 0
            self.short_balance -= failed
            if notice is not None and not failed:
                notice[2] = True
            self.fake.settle_charge(trade, failed=failed)
            return 200, {"out_trade_no": number, "amount": {"total": fen, "currency": "CNY"}}
        if (
            method == "POST"
            and parts[:4] == ["papay", "sign", "contracts", "plan-id"]
            and parts[-1] == "terminate"
        ):
            contract = self.contracts.get(parts[6]) if len(parts) == 8 else None
            if contract is None or contract.state != "SIGNED":
                return 400, {"code": "CONTRACT_NOT_EXIST", "message": "签约协议不存在或已解约"}
            self.end(contract, mode="MCH_API")
            return 204, None
        return None

    def sign(self, number: str) -> int:
        """The member agrees on WeChat Pay's signing page: PAPAY.SIGN to the merchant."""
        contract = self.contracts[number]
        contract.state = "SIGNED"
        contract.contract_id = contract.contract_id or f"2026{secrets.token_hex(10)}"
        contract.signed_at = fake_now()
        return self._tell(contract, "PAPAY.SIGN", {"contract_state": "SIGNED"})

    def end(self, contract: Contract, *, mode: str = "USER") -> int:
        """Unsigned (mode USER: by the member in WeChat): PAPAY.TERMINATE to the merchant."""
        contract.state = "TERMINATED"
        return self._tell(
            contract,
            "PAPAY.TERMINATE",
            {"contract_state": "TERMINATED", "contract_termination_mode": mode},
        )

    def _tell(self, contract: Contract, event: str, fields: dict) -> int:
        resource = {
            "mchid": MCHID,
            "appid": APPID,
            "out_contract_code": contract.number,
            "plan_id": int(PAPAY_PLAN_ID),
            "contract_id": contract.contract_id,
            "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
            "operate_time": fake_now().isoformat(timespec="seconds"),
            **fields,
        }
        body, headers = self.fake._event(event, "contract", resource)
        status = fake_base.post(contract.notify_url, body, headers)
        contract.notified.append(status)
        return status


class AlipayAgreements:
    """What the fake Alipay keeps of 周期扣款: agreements by our number."""

    def __init__(self, fake) -> None:
        self.fake = fake  # the FakeAlipay
        self.contracts: dict[str, Contract] = {}
        self.short_balance = 0  # the next this many charges are refused: balance short

    def by_id(self, agreement_no: str) -> Contract | None:
        return next((c for c in self.contracts.values() if c.contract_id == agreement_no), None)

    def open_page(self, params: dict) -> Contract | None:
        """The signing page's request (a GET of the gateway with signed parameters)."""
        if params.get("method") != "alipay.user.agreement.page.sign":
            return None
        if not self.fake._signed_by_app(params):
            return None
        biz = json.loads(params.get("biz_content") or "{}")
        if biz.get("product_code") != "CYCLE_PAY_AUTH" or "period_rule_params" not in biz:
            return None
        number = biz["external_agreement_no"]
        rule = biz["period_rule_params"]
        return self.contracts.setdefault(
            number,
            Contract(
                "alipay", number, params.get("notify_url", ""),
                single_amount=Decimal(rule["single_amount"]),
            ),
        )  # fmt: skip

    def route(self, method: str, biz: dict, params: dict) -> dict | None:
        if method == "alipay.trade.pay" and biz.get("product_code") == "CYCLE_PAY_AUTH":
            contract = self.by_id(biz.get("agreement_params", {}).get("agreement_no", ""))
            number, amount = biz["out_trade_no"], Decimal(biz["total_amount"])
            if contract is None or contract.state != "SIGNED":
                return _refusal("AGREEMENT_NOT_EXIST", "协议不存在或已解约")
            if number in self.fake.trades:
                return _refusal("ACQ.TRADE_HAS_SUCCESS", "交易已存在")
            if amount > contract.single_amount:
                contract.refused.append(f"{number} more than the single amount")
                return _refusal("ACQ.TOTAL_FEE_EXCEED", "扣款金额超过约定金额")
            contract.charges.append(number)
            if self.short_balance > 0:
                self.short_balance -= 1
                return _refusal("ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足")
            trade = Trade(
                "alipay", number, amount, biz.get("subject", ""), params.get("notify_url", ""), ""
            )
            trade.state, trade.paid_at = "SUCCESS", fake_now()
            trade.transaction_id = f"2026{secrets.token_hex(12)}"
            self.fake.trades[number] = trade
            if trade.notify_url:  # and the usual payment notification
                self.fake.pay(number)
            return {
                "code": "10000", "msg": "Success", "out_trade_no": number,
                "trade_no": trade.transaction_id, "total_amount": f"{amount:.2f}",
            }  # fmt: skip
        if method == "alipay.user.agreement.unsign":
            contract = self.by_id(biz.get("agreement_no", ""))
            if contract is None or contract.state != "SIGNED":
                return _refusal("USER_AGREEMENT_NOT_EXIST", "协议不存在")
            contract.state = "TERMINATED"
            return {"code": "10000", "msg": "Success"}
        return None

    def sign(self, number: str) -> int:
        contract = self.contracts[number]
        contract.state = "SIGNED"
        contract.contract_id = contract.contract_id or f"2026{secrets.token_hex(8)}"
        contract.signed_at = fake_now()
        return self._tell(contract, "dut_user_sign", "NORMAL")

    def end(self, contract: Contract) -> int:
        """The member unsigns in Alipay: dut_user_unsign."""
        contract.state = "TERMINATED"
        return self._tell(contract, "dut_user_unsign", "UNSIGN")

    def _tell(self, contract: Contract, notify_type: str, status: str) -> int:
        now = fake_now().strftime("%Y-%m-%d %H:%M:%S")
        params = {
            "notify_type": notify_type, "notify_id": secrets.token_hex(16), "notify_time": now,
            "app_id": ALIPAY_APP_ID, "charset": "utf-8", "version": "1.0", "sign_type": "RSA2",
            "agreement_no": contract.contract_id, "external_agreement_no": contract.number,
            "personal_product_code": "CYCLE_PAY_AUTH_P", "sign_scene": "INDUSTRY|DIGITAL_MEDIA",
            "status": status, "alipay_user_id": "2088102122524333",
            ("sign_time" if status == "NORMAL" else "invalid_time"): now,
        }  # fmt: skip
        params["sign"] = self.fake.sign(
            alipay_signing_text(params, leave_out=("sign", "sign_type"))
        )
        body = urlencode(params).encode()
        status_code = fake_base.post(
            contract.notify_url,
            body,
            {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        contract.notified.append(status_code)
        return status_code


def _refusal(sub_code: str, sub_msg: str) -> dict:
    return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg}


def signing_page(contract: Contract, action: str) -> bytes:
    """The provider's signing page, as the member's phone shows it after the scan."""
    provider = "微信支付" if contract.provider == "wechat" else "支付宝"
    limit = f"，每期不超过 ¥{contract.single_amount:.2f}" if contract.single_amount else ""
    return (
        f"<!doctype html><meta charset=utf-8><title>{provider}：开通自动扣费</title>"
        f"<h1>{provider}：开通自动扣费（本地假网关）</h1>"
        f"<p>商户协议号 {html.escape(contract.number)}{limit}；状态 {contract.state}</p>"
        f'<form method="post" action="{html.escape(action)}">'
        '<button type="submit" id="agree">同意协议并开通</button></form>'
    ).encode()


def contract_rows(contracts: list[Contract]) -> str:
    """The phone page's rows: each agreement, with the member's buttons."""
    rows = []
    for contract in contracts[::-1]:
        provider = "微信支付" if contract.provider == "wechat" else "支付宝"
        number = html.escape(contract.number)
        if contract.state == "SIGNING":
            path = "/papay/sign/" if contract.provider == "wechat" else "/alipay/agreement/sign/"
            action = f'<a href="{path}{number}">去签约</a>'
        elif contract.state == "SIGNED":
            action = (
                f'<form method="post" action="/agreement/unsign/{contract.provider}/{number}">'
                f"<button type=submit>在{provider}中关闭自动扣费</button></form>"
                f'<form method="post" action="/agreement/short-balance/{contract.provider}/'
                f'{number}"><button type=submit>余额不足（下一次扣款失败）</button></form>'
            )
        else:
            action = "已解约"
        notices = ", ".join(f"{d:%m-%d} ¥{Decimal(a) / 100:.2f}" for d, a, _ in contract.notices)
        rows.append(
            f"<tr><td>{provider}</td><td>{number}</td><td>{contract.state}</td>"
            f"<td>扣款 {len(contract.charges)} 次"
            f"{'；预扣费通知 ' + notices if notices else ''}</td>"
            f"<td>{action}</td></tr>"
        )
    clock = fake_now().strftime("%Y-%m-%d %H:%M")
    return (
        f"<h2>自动扣费协议</h2><p>网关时钟：{clock}</p>"
        "<table border=1 cellpadding=6><tr><th>渠道</th><th>商户协议号</th><th>状态</th>"
        f"<th>记录</th><th></th></tr>{''.join(rows) or '<tr><td colspan=5>还没有协议</td></tr>'}"
        "</table>"
    )
