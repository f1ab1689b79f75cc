import json

import pytest
from django.db import connection

from payments import gateway


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
