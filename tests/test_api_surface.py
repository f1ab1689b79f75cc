"""The API as a developer meets it: the root, the plans, forms and OPTIONS, JSON 404s."""

from http import HTTPStatus

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_the_api_root_links_the_path_families(anon):
    root = anon.get("/api/").json()
    assert root["payment"]["plans"] == "http://testserver/api/payment/plans"
    assert root["users"]["login"] == "http://testserver/api/users/login"
    assert root["docs"] == "http://testserver/api/docs/"


def test_the_plans_on_sale_are_listed_for_anyone(anon, plans):
    assert anon.get("/api/payment/plans").json() == [
        {"id": 1, "name": "月度会员", "days": 30, "price": 29.9},
        {"id": 2, "name": "季度会员", "days": 90, "price": 88.0},
        {"id": 3, "name": "年度会员", "days": 365, "price": 328.0},
    ]


def test_options_describes_the_fields_of_an_input(api):
    actions = api.options("/api/payment/generate-qrcode").json()["actions"]["POST"]
    assert set(actions) == {"userId", "planId", "amount", "paymentMethod"}
    assert "套餐现价" in actions["amount"]["help_text"]


def test_the_browsable_api_renders_a_form_for_generate_qrcode(api):
    page = api.get("/api/payment/generate-qrcode", HTTP_ACCEPT="text/html").content.decode()
    assert 'name="planId"' in page and 'name="paymentMethod"' in page
    assert "必须等于所选套餐的现价" in page  # the view's description


def test_the_browsable_api_form_posts_an_order(api, user, plans):
    response = api.post(
        "/api/payment/generate-qrcode",
        {"userId": user.pk, "planId": 1, "amount": "29.90", "paymentMethod": 0},
    )  # form-encoded, as the HTML form sends it
    assert response.status_code == HTTPStatus.OK
    assert response.json()["amount"] == 29.9


@pytest.mark.parametrize("path", ["/api/nothing", "/api/payment/nothing", "/api/users/a/b"])
def test_unknown_api_paths_are_json_404s(settings, path):
    settings.DEBUG = True  # Django's HTML debug page would answer otherwise
    response = APIClient().delete(path)
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Content-Type"] == "application/json"


def test_the_qr_code_is_documented(anon):
    schema = anon.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/payment/qrcode/{order_number}.svg"]["get"]
    assert "image/svg+xml" in operation["responses"]["200"]["content"]
    assert operation["tags"] == ["支付"]
    tags = {op["tags"][0] for path in schema["paths"].values() for op in path.values()}
    assert tags == {"支付", "订单管理", "用户", "搜索"}
