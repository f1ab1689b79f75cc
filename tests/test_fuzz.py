"""Schemathesis against our own `/api/schema/`, in process: as an anonymous visitor and as a
logged-in user. No response may be a 5xx, and every response must match the schema (status
code, content type, headers and body), so the schema has to tell the truth."""

import json
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application

from .factories import UserFactory, VipPlanFactory

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 25
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
COUNTS: Counter = Counter()
REPORT = Path(__file__).resolve().parent.parent / "artifacts" / "fuzz.json"


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(dict(COUNTS), indent=2))


@pytest.fixture(autouse=True)
def _keep_the_test_transaction():
    """Requests reach Django's WSGI handler directly here, whose request signals would close
    the test's connection mid-transaction; Django's own test client disconnects them too."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def fuzz_data(db):
    for pk in (1, 2, 3):
        VipPlanFactory(id=pk)


@pytest.fixture
def session_headers(fuzz_data):
    client = Client()
    client.force_login(UserFactory())  # makes the session without a request
    request = RequestFactory().get("/")
    token = get_token(request)  # a CSRF token and its cookie, likewise
    cookie = request.META["CSRF_COOKIE"]
    session = client.cookies["sessionid"].value
    return {"Cookie": f"sessionid={session}; XSRF-TOKEN={cookie}", "X-XSRF-TOKEN": token}


@schema.parametrize()
@FUZZ_SETTINGS
def test_as_an_anonymous_visitor(case, fuzz_data):
    COUNTS["anonymous"] += 1
    case.call_and_validate(checks=CHECKS)


@schema.parametrize()
@FUZZ_SETTINGS
def test_as_a_logged_in_user(case, session_headers):
    COUNTS["logged_in"] += 1
    case.call_and_validate(checks=CHECKS, headers=session_headers)
