"""The API's shared pieces: authentication, the contract's error bodies, the users envelope and
the page format.

Two response styles live side by side (see CONTRACT.md):
- `/api/payment/...` answers bare objects, and errors as {"error", "status", "timestamp"};
- `/api/users/...` answers {"code", "message", "data"}, errors included.
"""

import copy
import logging
from collections.abc import Iterator
from http import HTTPStatus

from django.db import InterfaceError, OperationalError
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .exceptions import DomainError

logger = logging.getLogger(__name__)

ENVELOPE_PREFIX = "/api/users/"


def error_body(
    *, path: str, status: int, message: str, fields: dict[str, str] | None = None
) -> dict:
    """The contract's error body for a request to `path`."""
    if path.startswith(ENVELOPE_PREFIX):
        return {"code": status, "message": message, "data": None}
    body = {"error": message, "status": status, "timestamp": timezone.localtime().isoformat()}
    if fields:
        body["fields"] = fields
    return body


def _flatten(detail, prefix: str = "") -> Iterator[tuple[str, str]]:
    """DRF's nested validation detail as (dotted field, first message) pairs."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            yield from _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(detail, list):
        if detail and not isinstance(detail[0], dict | list):
            yield prefix or "non_field_errors", str(detail[0])
        else:
            for index, value in enumerate(detail):
                yield from _flatten(value, f"{prefix}[{index}]")
    else:
        yield prefix or "non_field_errors", str(detail)


def exception_handler(exc, context) -> Response | None:
    request = context["request"]
    headers = {}
    fields = None
    if isinstance(exc, DomainError):
        status, message = int(exc.status), exc.message
        if exc.field:
            fields = {exc.field: exc.message}
    elif isinstance(exc, OperationalError | InterfaceError):
        logger.error("database unavailable on %s: %s", request.path, exc)
        status, message = HTTPStatus.SERVICE_UNAVAILABLE, "服务暂时不可用，请稍后重试"
        headers["Retry-After"] = "5"
    else:
        response = drf_exception_handler(exc, context)
        if response is None:
            return None  # a bug: Django's handler500 answers, and it is logged with a traceback
        status = response.status_code
        headers = {
            name: value
            for name, value in response.headers.items()
            if name in ("WWW-Authenticate", "Allow", "Retry-After")
        }
        if isinstance(exc, ValidationError):
            fields = dict(_flatten(exc.detail))
            message = next(iter(fields.values()), "请求参数无效")
        else:
            message = str(getattr(exc, "detail", exc))
    body = error_body(path=request.path, status=int(status), message=message, fields=fields)
    return Response(body, status=status, headers=headers)


def envelope(data=None, *, message: str = "success") -> Response:
    """A successful `/api/users/...` answer."""
    return Response({"code": HTTPStatus.OK, "message": message, "data": data})


def envelope_schema(name: str, data: serializers.Field | None):
    """The OpenAPI description of `envelope(data)` for drf-spectacular."""
    return inline_serializer(
        name=name,
        fields={
            "code": serializers.IntegerField(),
            "message": serializers.CharField(),
            "data": data if data is not None else serializers.JSONField(allow_null=True),
        },
    )


def error_responses(serializer, descriptions: dict[int, str]):
    """For drf-spectacular: `responses(400, 404)` documents those errors in one path family's
    error format."""
    documented = {
        code: OpenApiResponse(serializer, description=text) for code, text in descriptions.items()
    }
    return lambda *codes: {code: documented[code] for code in codes}


class PaymentErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    status = serializers.IntegerField()
    timestamp = serializers.DateTimeField()
    fields = serializers.DictField(child=serializers.CharField(), required=False)


class FlatSerializer(serializers.Serializer):
    # A serializer of plain fields, cheaper to make. (Comments, not a docstring: subclasses would
    # inherit a docstring as their description in the OpenAPI schema.)
    #
    # DRF deep-copies a serializer's declared fields for every instance. A plain field keeps no
    # per-request state beyond what `bind` sets on it (its name and parent): what validation
    # finds lives on the serializer. So a shallow copy does, at a fraction of the cost (0.2 ms
    # less for the user, 0.24 ms less for a search body), made by copying the field's
    # attributes: `copy.copy`'s generic protocol took four times as long (27 µs for the user's
    # twelve fields, of a 0.65 ms request). Nested serializers are still deep-copied.

    def get_fields(self) -> dict:
        return {
            name: copy.deepcopy(field)
            if isinstance(field, serializers.BaseSerializer)
            else _shallow_copy(field)
            for name, field in self._declared_fields.items()
        }


def _shallow_copy(field: serializers.Field) -> serializers.Field:
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    return clone


class SiteDateTimeField(serializers.DateTimeField):
    """A date-time shown in the site's time zone (`TIME_ZONE`), the zone this project always
    runs in: it never activates another. DRF asks for the active zone on every value, through
    asgiref's context-local storage, which made up a third of the time to serialize an order."""

    def default_timezone(self):
        return timezone.get_default_timezone()


class EnvelopeErrorSerializer(serializers.Serializer):
    code = serializers.IntegerField()
    message = serializers.CharField()
    data = serializers.JSONField(allow_null=True)


class PageQuerySerializer(FlatSerializer):
    page = serializers.IntegerField(min_value=0, default=0)
    size = serializers.IntegerField(min_value=1, default=10)


class SpringPagination(BasePagination):
    """The old service's page format (Spring Data's): pages count from 0, `size` is capped."""

    max_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        params = PageQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        return self.paginate(queryset, **params.validated_data)

    def paginate(self, queryset, *, page: int, size: int):
        self.page, self.size = page, min(size, self.max_size)
        offset = self.page * self.size
        rows = list(queryset[offset : offset + self.size])
        if len(rows) < self.size and (rows or offset == 0):
            # The last page tells the total without a COUNT (as Spring Data's pages do).
            self.total = offset + len(rows)
        else:
            self.total = queryset.count()
        return rows

    def get_paginated_response(self, data) -> Response:
        total_pages = -(-self.total // self.size)
        return Response(
            {
                "content": data,
                "totalElements": self.total,
                "totalPages": total_pages,
                "number": self.page,
                "size": self.size,
                "numberOfElements": len(data),
                "first": self.page == 0,
                "last": self.page >= total_pages - 1,
                "empty": not data,
            }
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        integer, boolean = {"type": "integer"}, {"type": "boolean"}
        return {
            "type": "object",
            "required": [
                "content",
                "totalElements",
                "totalPages",
                "number",
                "size",
                "numberOfElements",
                "first",
                "last",
                "empty",
            ],
            "properties": {
                "content": schema,
                "totalElements": integer,
                "totalPages": integer,
                "number": integer,
                "size": integer,
                "numberOfElements": integer,
                "first": boolean,
                "last": boolean,
                "empty": boolean,
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": "page",
                "in": "query",
                "required": False,
                "description": "页码，从0开始",
                "schema": {"type": "integer", "minimum": 0, "default": 0},
            },
            {
                "name": "size",
                "in": "query",
                "required": False,
                "description": f"每页条数，最多{self.max_size}",
                "schema": {"type": "integer", "minimum": 1, "default": 10},
            },
        ]
