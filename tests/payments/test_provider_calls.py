"""Every call to a payment provider is recorded and shown on the order's page."""

from http import HTTPStatus

import pytest

from payments import services
from payments.exceptions import GatewayUnavailable
from payments.gateways.sandbox import SandboxProvider
from payments.models import ProviderCall, VipOrder

pytestmark = pytest.mark.django_db


def test_creating_querying_and_failing_calls_are_recorded(
    api, user, plans, admin_client, monkeypatch
):
    answer = api.post(
        "/api/payment/generate-qrcode",
        {"userId": user.pk, "planId": 1, "amount": 29.90, "paymentMethod": 0},
        format="json",
    )
    order = VipOrder.objects.get(order_number=answer.json()["orderId"])
    assert services.order_reconcile(order_id=order.pk) is None  # the sandbox knows nothing yet

    def down(self, order):
        raise GatewayUnavailable("支付网关无响应")

    monkeypatch.setattr(SandboxProvider, "query_payment", down)
    with pytest.raises(GatewayUnavailable):
        services.order_reconcile(order_id=order.pk)
    calls = list(ProviderCall.objects.filter(order_number=order.order_number).order_by("id"))
    assert [(c.provider, c.kind, c.outcome, c.code) for c in calls] == [
        ("sandbox", "create", "ok", ""),
        ("sandbox", "query", "ok", "无最终结果"),
        ("sandbox", "query", "unavailable", "支付网关无响应"),
    ]
    assert all(c.duration_ms >= 0 for c in calls)
    page = admin_client.get(f"/admin/payments/viporder/{order.pk}/change/").content.decode()
    story = page[page.index('id="order-story"') :]
    assert story.count("沙箱：查询支付") == 2 and "支付网关无响应" in story
    listed = admin_client.get("/admin/payments/providercall/", {"outcome__exact": "unavailable"})
    assert listed.status_code == HTTPStatus.OK
    assert order.order_number in listed.content.decode()


def test_a_refused_creation_is_recorded_and_leaves_no_order(api, user, plans, monkeypatch):
    def down(self, order):
        raise GatewayUnavailable()

    monkeypatch.setattr(SandboxProvider, "create_payment", down)
    answer = api.post(
        "/api/payment/generate-qrcode",
        {"userId": user.pk, "planId": 1, "amount": 29.90, "paymentMethod": 1},
        format="json",
    )
    assert answer.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert not VipOrder.objects.exists()
    call = ProviderCall.objects.get()
    assert (call.kind, call.outcome) == ("create", "unavailable")
