"""Simultaneous sign-ups for one name or one email, on MariaDB with real threads: the unique
indexes decide, and every loser hears which of the two was taken (never a 500)."""

import pytest
from rest_framework.test import APIClient

from users.models import User

from ..helpers import requires_mariadb
from ..payments.test_concurrency import run_together

pytestmark = [requires_mariadb, pytest.mark.django_db(transaction=True)]

THREADS = 8


def register(username: str, email: str):
    def job():
        payload = {"username": username, "password": "Race-pass-42", "email": email}
        return APIClient().post("/api/users/register", payload, format="json").json()

    return job


@pytest.mark.parametrize(
    ("same", "code"), [("email", 1002), ("username", 1001)], ids=["one-email", "one-name"]
)
def test_one_of_many_simultaneous_sign_ups_wins(same, code):
    jobs = [
        register(
            "racer" if same == "username" else f"racer{i}",
            "race@example.com" if same == "email" else f"race{i}@example.com",
        )
        for i in range(THREADS)
    ]
    bodies = run_together(jobs)
    codes = sorted(body["code"] for body in bodies)
    assert codes == [200] + [code] * (THREADS - 1)
    assert User.objects.count() == 1
