"""What the 连续包月 tests share: a renewing plan, the fakes' notifications held and delivered
by the test (the platform answers them in the test's own transaction), and a clock the tests
move (time-machine moves the platform's and the fakes' together: one process)."""

from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest
import time_machine
from rest_framework.test import APIClient

from payments.gateways.base import CHINA_TIME
from payments.models import Agreement, PaymentMethod, VipPlan

WECHAT, ALIPAY = PaymentMethod.WECHAT, PaymentMethod.ALIPAY
# 10:00 in Shanghai, inside the hours WeChat Pay allows notices and charges.
START = datetime(2027, 1, 4, 10, 0, tzinfo=CHINA_TIME)


class MemberClient(APIClient):
    """Logged in afresh for each request: the tests move the clock by weeks, past any
    session's age."""

    def __init__(self, user) -> None:
        super().__init__()
        self.member = user

    def request(self, **kwargs):
        self.force_login(self.member)
        return super().request(**kwargs)


@pytest.fixture
def member(user):
    return MemberClient(user)


@pytest.fixture
def renewing_plan(plans):
    return VipPlan.objects.create(
        id=4,
        name="连续包月",
        days=30,
        price=Decimal("25.00"),
        first_price=Decimal("15.00"),
        renews=True,
    )


class Mail:
    """The fakes' notifications, held until `deliver()` posts them to the platform (as the
    providers would, a moment later), with the commit callbacks they queue run (the eager
    tasks: the first charge, the emails)."""

    def __init__(self, capture) -> None:
        self.held: list[tuple[str, bytes, dict]] = []
        self.capture = capture
        self.answers: list[int] = []

    def post(self, url: str, body: bytes, headers: dict) -> int:
        self.held.append((url, body, dict(headers)))
        return 202  # (held: the fake records it as sent)

    def deliver(self) -> list[int]:
        answers = []
        while self.held:
            url, body, headers = self.held.pop(0)
            content_type = headers.pop("Content-Type")
            with self.capture(execute=True):
                response = APIClient().generic(
                    "POST", urlsplit(url).path, body, content_type=content_type, headers=headers
                )
            answers.append(response.status_code)
        self.answers += answers
        return answers


@pytest.fixture
def held(monkeypatch, providers, django_capture_on_commit_callbacks):
    mail = Mail(django_capture_on_commit_callbacks)
    monkeypatch.setattr("devtools.fake_base.post", mail.post)
    providers.wechat.papay.contracts.clear()
    providers.alipay.cycle.contracts.clear()
    providers.wechat.papay.short_balance = providers.alipay.cycle.short_balance = 0
    return mail


@pytest.fixture
def clock():
    """`clock.at(moment)`: the time is `moment` (ticking) from now on in the test."""

    class Clock:
        traveller = None

        def at(self, moment: datetime) -> datetime:
            self.stop()
            self.traveller = time_machine.travel(moment, tick=True)
            self.traveller.start()
            return moment

        def days_later(self, days: float, *, hour: int | None = None) -> datetime:
            moment = datetime.now(CHINA_TIME) + timedelta(days=days)
            if hour is not None:
                moment = moment.replace(hour=hour, minute=0, second=0)
            return self.at(moment)

        def stop(self) -> None:
            if self.traveller is not None:
                self.traveller.stop()
                self.traveller = None

    clock = Clock()
    clock.at(START)
    yield clock
    clock.stop()


def sign(client, plan_id: int, method: int):
    return client.post(
        "/api/payment/agreements", {"planId": plan_id, "paymentMethod": method}, format="json"
    )


def signed_agreement(api, providers, held, plan, method) -> Agreement:
    """Sign `plan` with `method` at its fake (the member agrees on the signing page), and
    deliver the signing notification (and the first charge's)."""
    body = sign(api, plan.pk, method).json()
    contracts = providers.wechat.papay if method == WECHAT else providers.alipay.cycle
    if method == ALIPAY:  # the member's phone opens the signed URL of Alipay's signing page
        assert contracts.fake.cycle.open_page(dict(parse_qsl(urlsplit(body["signCode"]).query)))
    contracts.sign(body["agreementNumber"])
    held.deliver()
    return Agreement.objects.get(agreement_number=body["agreementNumber"])
