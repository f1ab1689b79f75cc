"""What the local fakes (devtools.fakes, devtools.fake_agreements) share: the merchant's ids,
a trade as a provider keeps it, Alipay's signing text, and how a notification is posted to the
merchant (`post`, which the tests replace to hold notifications and deliver them themselves)."""

import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from payments.gateways.base import CHINA_TIME

MCHID = "1900000109"
APPID = "wx8888888888888888"
CERT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
PUBLIC_KEY_ID = "PUB_KEY_ID_0119000001092026112600000001"
ALIPAY_APP_ID = "2021000122600001"
ALIPAY_SELLER_ID = "2088621955800001"


@dataclass
class Trade:
    provider: str
    out_trade_no: str
    amount: Decimal
    subject: str
    notify_url: str
    code: str
    state: str = "NOTPAY"  # NOTPAY, SUCCESS, CLOSED
    transaction_id: str = ""
    paid_at: datetime | None = None  # when it was paid, for the day's bill
    notified: list[int] = field(default_factory=list)  # the merchant's answers
    # The refunds made of it, by the merchant's refund number: {"amount", "id", "status"}.
    refunds: dict[str, dict] = field(default_factory=dict)

    def refunded(self) -> Decimal:
        return sum((r["amount"] for r in self.refunds.values()), Decimal("0.00"))

    def paid_on(self, day: date) -> bool:
        if self.state not in ("SUCCESS", "REFUND"):
            return False
        return (self.paid_at or datetime.now(CHINA_TIME)).astimezone(CHINA_TIME).date() == day

    def refunds_on(self, day: date) -> list[tuple[str, dict]]:
        return [
            (n, r) for n, r in self.refunds.items() if r["at"].astimezone(CHINA_TIME).date() == day
        ]

    def book_refund(self, number: str, amount: Decimal, status: str = "SUCCESS") -> dict | None:
        """A refund, once per number (the idempotency key); None when more than is left."""
        if number not in self.refunds:
            if self.state not in ("SUCCESS", "REFUND") or self.refunded() + amount > self.amount:
                return None
            self.refunds[number] = {
                "amount": amount, "id": f"50{secrets.token_hex(14)}", "status": status,
                "at": datetime.now(CHINA_TIME),
            }  # fmt: skip
            self.state = "REFUND"
        return self.refunds[number]


def alipay_signing_text(
    params: dict[str, str], leave_out=("sign",), charset: str = "utf-8"
) -> bytes:
    """What Alipay signs: the sorted parameters, in the bytes of the merchant's charset."""
    return "&".join(
        f"{k}={v}" for k, v in sorted(params.items()) if k not in leave_out and v != ""
    ).encode(charset)


def post(url: str, body: bytes, headers: dict) -> int:
    """POST a notification to the merchant, as the provider does; answers its status."""
    request = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0
