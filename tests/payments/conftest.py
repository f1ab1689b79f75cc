"""Fixtures of the payments tests."""

from datetime import datetime
from http import HTTPStatus

import pytest

from payments.gateways.base import CHINA_TIME
from payments.models import VipOrder

from .renewal_helpers import clock, held, member, renewing_plan  # noqa: F401  (fixtures)
from .test_providers import WECHAT, buy, notify


@pytest.fixture
def paid(api, user, plans, providers):
    """Pay an order of `method` at its fake (88.00, 90 days) and deliver the notification."""

    def pay(method) -> tuple[VipOrder, object]:
        order = VipOrder.objects.get(order_number=buy(api, user, method).json()["orderId"])
        fake = providers.wechat if method == WECHAT else providers.alipay
        trade = fake.trades[order.order_number]
        trade.state, trade.paid_at = "SUCCESS", datetime.now(CHINA_TIME)
        trade.transaction_id = "T" + order.order_number[-20:]
        body, headers = fake.notification(trade)
        answer = notify("wechat" if method == WECHAT else "alipay", body, dict(headers))
        assert answer.status_code in (HTTPStatus.OK, HTTPStatus.NO_CONTENT), answer.content
        order.refresh_from_db()
        return order, trade

    return pay
