import json
from http import HTTPStatus

import pytest
from django.db import connection

from payments.gateways import contract as gateway


def post_callback(client, payload: dict, *, secret: str | None = None, **headers):
    """POST a gateway notification, signed when `secret` is given."""
    body = json.dumps(payload).encode()
    if secret:
        headers = {**gateway.signed_headers(body=body, secret=secret), **headers}
    return client.post(
        "/api/payment/callback", data=body, content_type="application/json", headers=headers
    )


requires_mariadb = pytest.mark.skipif(
    connection.vendor != "mysql",
    reason="needs MariaDB: row locks, and connections from other threads or processes",
)


def envelope_error(response) -> tuple[int, str]:
    """The business code and message of a `/api/users/...` answer, which is HTTP 200 always."""
    assert response.status_code == HTTPStatus.OK, response.content
    body = response.json()
    assert body["data"] is None, body
    return body["code"], body["message"]
