"""The schema's examples execute as they are: what Swagger UI's "Try it out" sends, unedited,
gets a success or an error the operation documents, never a refusal of the example itself."""

import re
from http import HTTPStatus

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from tests.factories import UserFactory, VipOrderFactory, VipPlanFactory
from users.models import User

pytestmark = pytest.mark.django_db

# Signed by the provider: documented for the reader, not for "Try it out" (their description
# says so).
NOT_TRIED = {"/api/payment/notify/wechat", "/api/payment/notify/alipay"}


def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations():
    for path, methods in schema()["paths"].items():
        if path in NOT_TRIED:
            continue
        for method, operation in methods.items():
            yield pytest.param(path, method, operation, id=f"{method.upper()} {path}")


def body_examples(operation) -> list:
    """Each example of the JSON body ([None] without a body, [Ellipsis] without examples)."""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return [None]
    if "examples" in content:
        return [example["value"] for example in content["examples"].values()]
    return [content.get("example", Ellipsis)]


def documented(path: str, operation: dict, response) -> bool:
    """A success, or an error the operation names (in its envelope's `code` on /api/users/)
    other than bad input: that would be the example refused."""
    if path.startswith("/api/users/"):
        description = operation["responses"]["200"]["description"]
        codes = {200, *(int(code) for code in re.findall(r"\b(\d{3,4}) ", description))}
        code = response.json()["code"]
        return response.status_code == HTTPStatus.OK and code in codes - {400}
    status = response.status_code
    return str(status) in operation["responses"] and status != 400 and status < 500


@pytest.mark.parametrize(("path", "method", "operation"), list(operations()))
def test_each_operations_example_executes_as_it_is(path, method, operation, plans):
    UserFactory(username="demo", password="demo-vip-2026")
    VipOrderFactory(order_number="20261204120000a1b2c3d4e5f60718", plan=plans[1])
    VipPlanFactory(id=4, name="连续包月", days=30, price=25, renews=True)  # as seed_demo makes it
    bodies = body_examples(operation)
    assert Ellipsis not in bodies, "a JSON body without an example: Swagger UI would invent one"
    parameters = operation.get("parameters", [])
    for parameter in parameters:
        if parameter.get("required"):
            assert "example" in parameter or "examples" in parameter, parameter["name"]
    url = path
    query = {}
    for parameter in parameters:
        value = parameter.get("example")
        if value is None and "examples" in parameter:
            value = next(iter(parameter["examples"].values()))["value"]
        if value is None:
            continue
        if parameter["in"] == "path":
            url = url.replace("{" + parameter["name"] + "}", str(value))
        elif parameter["in"] == "query":
            query[parameter["name"]] = value
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    for n, body in enumerate(bodies):
        client = APIClient()
        client.force_login(
            User.objects.create_superuser(f"tryit{n}", f"tryit{n}@example.com", "x-Pass-123")
        )
        response = getattr(client, method)(url, body, format="json" if body is not None else None)
        assert documented(path, operation, response), (body, response.status_code,
                                                       response.content.decode()[:300])  # fmt: skip
