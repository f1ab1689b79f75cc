"""`vipplatform.negotiation.ContentNegotiation` answers as DRF's own negotiation does."""

import pytest
from django.http import Http404
from django.test import RequestFactory
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request

from vipplatform.negotiation import ContentNegotiation, _select

RENDERERS = [JSONRenderer(), BrowsableAPIRenderer()]


def request(accept: str | None = None, query: str = "") -> Request:
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    return Request(RequestFactory().get(f"/x{query}", **headers))


@pytest.mark.parametrize(
    ("accept", "query", "suffix"),
    [
        (None, "", None),
        ("application/json", "", None),
        ("*/*", "", None),
        ("application/json; indent=4", "", None),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "", None),
        ("text/*", "", None),
        ("*/*", "?format=api", None),
        ("*/*", "", "json"),
    ],
)
def test_it_chooses_what_drf_chooses(accept, query, suffix):
    for attempt in range(2):  # the second answer is the remembered one
        chosen = ContentNegotiation().select_renderer(request(accept, query), RENDERERS, suffix)
        expected = DefaultContentNegotiation().select_renderer(
            request(accept, query), RENDERERS, suffix
        )
        assert (type(chosen[0]), chosen[1]) == (type(expected[0]), expected[1]), attempt
        assert chosen[0] in RENDERERS  # one of this request's renderers, not a remembered one


def test_what_nothing_renders_stays_an_error_every_time():
    for _ in range(2):
        with pytest.raises(NotAcceptable):
            ContentNegotiation().select_renderer(request("image/png"), RENDERERS)
        with pytest.raises(Http404):
            ContentNegotiation().select_renderer(request(query="?format=xml"), RENDERERS)


def test_the_remembered_answers_are_bounded():
    for index in range(1000):
        ContentNegotiation().select_renderer(request(f"application/json; v={index}"), RENDERERS)
    assert _select.cache_info().currsize <= 256
