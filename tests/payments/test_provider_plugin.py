"""Adding a payment provider is one module (tests/bank_provider.py), its settings and its
dotted path in PAYMENT_PROVIDERS: it then takes its payment method's orders, its notifications
at its own path, its deploy checks and its name in the admin."""

import json
from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from payments.gateways import available_methods, provider_for
from payments.models import OrderStatus, PaymentMethod, PaymentNotification, VipOrder
from tests.bank_provider import TOKEN_HEADER

pytestmark = pytest.mark.django_db

BANK = "tests.bank_provider.BankCardProvider"
TOKEN = "bank-token-0123456789"


@pytest.fixture
def bank(settings):
    settings.PAYMENT_PROVIDERS = [BANK, *settings.PAYMENT_PROVIDERS]
    settings.BANK_GATEWAY_TOKEN = TOKEN
    return settings


def buy(api, user, method: int):
    return api.post(
        "/api/payment/generate-qrcode",
        {"userId": user.pk, "planId": 1, "amount": 29.90, "paymentMethod": method},
        format="json",
    )


def notify(client, order: VipOrder, *, token: str = TOKEN, paid: bool = True):
    body = {"order": order.order_number, "paid": paid, "amount": str(order.amount),
            "serial": "B-1"}  # fmt: skip
    return client.post(
        "/api/payment/notify/bank",
        json.dumps(body),
        content_type="application/json",
        headers={TOKEN_HEADER: token},
    )


def test_a_provider_module_takes_its_methods_orders_and_notifications(bank, api, user, plans):
    assert provider_for(PaymentMethod.BANK_CARD).name == "bank"
    assert provider_for(PaymentMethod.WECHAT).name == "sandbox"  # the others as before
    response = buy(api, user, PaymentMethod.BANK_CARD)
    assert response.status_code == HTTPStatus.OK
    order = VipOrder.objects.get(order_number=response.json()["orderId"])
    assert order.payment_code == f"bank://pay/{order.order_number}"
    refused = notify(api, order, token="wrong-token-000000")
    assert refused.status_code == HTTPStatus.UNAUTHORIZED
    answer = notify(api, order)
    assert (answer.status_code, answer.content) == (HTTPStatus.OK, b"OK")
    order.refresh_from_db()
    user.refresh_from_db()
    assert (order.status, order.transaction_id) == (OrderStatus.PAID, "B-1")
    assert user.vip_active()
    recorded = PaymentNotification.objects.filter(provider="bank").order_by("id")
    assert [n.outcome for n in recorded] == ["refused", "paid"]
    assert recorded.last().headers[TOKEN_HEADER] == TOKEN


def test_its_name_shows_where_staff_look(bank, admin_client, api, user, plans):
    order = VipOrder.objects.get(order_number=buy(api, user, 2).json()["orderId"])
    notify(api, order)
    listed = admin_client.get("/admin/payments/paymentnotification/").content.decode()
    assert "银行卡网关" in listed
    story = admin_client.get(f"/admin/payments/viporder/{order.pk}/change/").content.decode()
    assert "银行卡网关" in story


def test_without_its_settings_it_is_not_there(settings, api, user, plans):
    settings.PAYMENT_PROVIDERS = [BANK, *settings.PAYMENT_PROVIDERS]
    settings.BANK_GATEWAY_TOKEN = ""
    assert provider_for(PaymentMethod.BANK_CARD).name == "sandbox"
    answer = api.post("/api/payment/notify/bank", "{}", content_type="application/json")
    assert answer.status_code == HTTPStatus.NOT_FOUND
    settings.PAYMENT_SANDBOX = False
    assert PaymentMethod.BANK_CARD not in available_methods()


def test_its_deploy_checks_run_with_the_others(bank):
    bank.BANK_GATEWAY_TOKEN = "short"
    bank.DEBUG = False
    with pytest.raises(SystemCheckError, match=r"bank\.E001"):
        call_command("check", "--deploy", "--fail-level", "ERROR")


def test_an_operator_without_any_provider_is_told_its_settings_too(settings):
    settings.PAYMENT_PROVIDERS = [BANK, *settings.PAYMENT_PROVIDERS]
    settings.DEBUG = settings.PAYMENT_SANDBOX = False
    settings.PAYMENT_CALLBACK_SECRET = ""
    settings.BANK_GATEWAY_TOKEN = settings.WECHATPAY_MCHID = settings.ALIPAY_APP_ID = ""
    with pytest.raises(SystemCheckError) as refused:
        call_command("check", "--deploy", "--fail-level", "ERROR")
    hint = next(line for line in str(refused.value).splitlines() if "HINT" in line)
    assert hint.endswith(
        "Configure one: BANK_GATEWAY_TOKEN, WECHATPAY_*, ALIPAY_*, PAYMENT_CALLBACK_SECRET."
    )


def test_a_provider_without_its_own_route_takes_no_notification_there(api, plans):
    for name in ("sandbox", "contract", "nobody"):
        answer = api.post(f"/api/payment/notify/{name}", "{}", content_type="application/json")
        assert answer.status_code == HTTPStatus.NOT_FOUND, name
