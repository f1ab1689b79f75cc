"""The API's shared pieces: authentication, the contract's error bodies, the users envelope and
the page format.

Two response styles live side by side (the old services' contract):
- `/api/payment/...` answers bare objects, and errors as {"error", "status", "timestamp"};
- `/api/users/...` answers {"code", "message", "data"}, errors included.
"""

import copy
import logging
import math
from collections.abc import Iterator
from http import HTTPStatus

from django.db import InterfaceError, OperationalError
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .exceptions import DomainError, ErrorKind
from .parsers import JSONParser

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
ENVELOPE_PREFIX = "/api/users/"


# The old user service's messages for the generic codes. Domain errors
# carry their own message and, where the old service declared one, their own business code.
ENVELOPE_MESSAGES = {
    HTTPStatus.UNAUTHORIZED: "未登录",
    HTTPStatus.FORBIDDEN: "禁止访问",
    HTTPStatus.NOT_FOUND: "资源不存在",
    HTTPStatus.INTERNAL_SERVER_ERROR: "系统异常，请稍后重试",
    HTTPStatus.SERVICE_UNAVAILABLE: "服务暂时不可用",
}


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIX)


def is_envelope_path(path: str) -> bool:
    """The one place that decides an API path's error format: the user service's envelope
    (HTTP 200, a business code) under `/api/users/`, the payment service's bodies elsewhere.
    The exception handler, the error views, the middleware and the schema all ask here."""
    return path.startswith(ENVELOPE_PREFIX)


def error_body(
    *, path: str, status: int, message: str, fields: dict[str, str] | None = None
) -> dict:
    """The contract's error body for a request to `path` (on `/api/users/...`, `status` is the
    business code)."""
    if is_envelope_path(path):
        return {"code": status, "message": message, "data": None}
    body = {"error": message, "status": status, "timestamp": timezone.localtime().isoformat()}
    if fields:
        body["fields"] = fields
    return body


def mark_server_error(response, code: int):
    """An envelope answer is HTTP 200 whatever its code; one whose code is a server error
    (500, 503) is counted as that status in the request metrics (`vipplatform.middleware.
    PrometheusAfterMiddleware`), so the 5xx alert sees it. Answers `response`."""
    if code >= HTTPStatus.INTERNAL_SERVER_ERROR:
        response.counted_status = code
    return response


def error_status(path: str, status: int) -> int:
    """The HTTP status of an error: on `/api/users/...` always 200, the old service's protocol
    that its front end is built on (it re-sends failed requests, and logs out on any 401)."""
    return HTTPStatus.OK if is_envelope_path(path) else status


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


KIND_STATUS = {
    ErrorKind.INVALID: HTTPStatus.BAD_REQUEST,
    ErrorKind.UNAUTHENTICATED: HTTPStatus.UNAUTHORIZED,
    ErrorKind.FORBIDDEN: HTTPStatus.FORBIDDEN,
    ErrorKind.NOT_FOUND: HTTPStatus.NOT_FOUND,
    ErrorKind.CONFLICT: HTTPStatus.CONFLICT,
    ErrorKind.TOO_MANY: HTTPStatus.TOO_MANY_REQUESTS,
    ErrorKind.TOO_LARGE: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    ErrorKind.UNAVAILABLE: HTTPStatus.SERVICE_UNAVAILABLE,
}


def http_status(exc: DomainError) -> int:
    """The HTTP status a domain error answers with (before an envelope path turns it into a
    business code)."""
    return int(KIND_STATUS[exc.kind])


def camel_case(name: str) -> str:
    """A domain field name as the API spells it (`plan_id` → `planId`)."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def database_unavailable(path: str, exc: Exception) -> tuple[int, str, dict[str, str]]:
    """A database that does not answer: 503, try again in a few seconds. The one answer of the
    API's exception handler (DRF views) and `DatabaseUnavailableMiddleware` (the rest)."""
    logger.error("database unavailable on %s: %s", path, exc)
    return HTTPStatus.SERVICE_UNAVAILABLE, "服务暂时不可用，请稍后重试", {"Retry-After": "5"}


def exception_handler(exc, context) -> Response | None:
    request = context["request"]
    headers = {}
    fields = None
    code = None
    if isinstance(exc, DomainError):
        status, message, code = http_status(exc), exc.message, exc.code
        if exc.retry_after:
            headers["Retry-After"] = str(exc.retry_after)
        if exc.field:
            fields = {camel_case(exc.field): exc.message}
    elif isinstance(exc, OperationalError | InterfaceError):
        status, message, headers = database_unavailable(request.path, exc)
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
        elif isinstance(exc, Throttled):
            message = f"请求过于频繁，请{math.ceil(exc.wait or 1)}秒后重试"
        else:
            message = str(getattr(exc, "detail", exc))
    if is_envelope_path(request.path):
        if not isinstance(exc, DomainError):
            message = ENVELOPE_MESSAGES.get(status, message)
        body = error_body(path=request.path, status=code or int(status), message=message)
        headers.pop("WWW-Authenticate", None)  # it belongs to a 401, and this is a 200
        return mark_server_error(Response(body, status=HTTPStatus.OK, headers=headers), status)
    body = error_body(path=request.path, status=int(status), message=message, fields=fields)
    return Response(body, status=status, headers=headers)


def envelope(data=None, *, message: str = "success") -> Response:
    """A successful `/api/users/...` answer."""
    return Response({"code": HTTPStatus.OK, "message": message, "data": data})


_envelope_schemas: dict[str, serializers.Serializer] = {}


def envelope_schema(name: str, data: serializers.Field | None):
    """The OpenAPI description of `envelope(data)` for drf-spectacular (one per name: the
    schema's components are named by it)."""
    if name not in _envelope_schemas:
        if data is not None:  # an error's `data` is null
            data = type(data)(*data._args, **{**data._kwargs, "allow_null": True})
        _envelope_schemas[name] = inline_serializer(
            name=name,
            fields={
                "code": serializers.IntegerField(help_text="业务码：200 成功，其他见接口说明"),
                "message": serializers.CharField(),
                "data": data if data is not None else serializers.JSONField(allow_null=True),
            },
        )
    return _envelope_schemas[name]


def envelope_responses(name: str, data: serializers.Field | None, **codes: str) -> dict:
    """For drf-spectacular: a `/api/users/...` operation answers HTTP 200 only, `code` telling
    success (200) from the errors it names (`codes`, keyed `c401="未登录"`)."""
    errors = "; ".join(f"{key.removeprefix('c')} {text}" for key, text in codes.items())
    description = "HTTP 200, always. `code` 200: success" + (
        f"; otherwise {errors}" if errors else ""
    )
    return {200: OpenApiResponse(envelope_schema(name, data), description=description)}


def error_responses(serializer, descriptions: dict[int, str]):
    """For drf-spectacular: `responses(400, 404)` documents those errors in one path family's
    error format."""
    documented = {
        code: OpenApiResponse(serializer, description=text) for code, text in descriptions.items()
    }
    return lambda *codes: {code: documented[code] for code in codes}


# The API's field names (the contract's) in the words staff read, for the browsable API's forms
# and the schema: one glossary, so `userId` is 用户ID wherever it appears.
FIELD_LABELS = {
    "id": "ID", "userId": "用户ID", "username": "用户名", "password": "密码",
    "oldPassword": "原密码", "newPassword": "新密码", "email": "邮箱", "phone": "手机号",
    "avatar": "头像", "userStatus": "账户状态", "isVip": "是否VIP", "vipType": "套餐",
    "vipTypeName": "套餐名称", "planId": "套餐", "vipExpireTime": "VIP到期时间",
    "registerTime": "注册时间", "createTime": "创建时间", "updateTime": "更新时间",
    "lastLoginTime": "最后登录时间", "loginTime": "登录时间", "sessionId": "会话ID",
    "maxInactiveInterval": "会话有效秒数", "orderId": "订单号", "orderNumber": "订单号",
    "amount": "金额", "paymentMethod": "支付方式", "paymentMethodName": "支付方式名称",
    "status": "状态", "statusName": "状态名称", "payTime": "支付时间",
    "expireTime": "截止时间", "qrCodeUrl": "二维码地址", "transactionId": "网关交易号",
    "startTime": "开始时间", "endTime": "结束时间", "page": "页码", "size": "每页条数",
    "sortBy": "排序字段", "sortDirection": "排序方向", "sort": "排序字段",
    "direction": "排序方向", "keyword": "关键词", "name": "名称", "days": "天数",
    "price": "价格", "q": "搜索", "expired": "已过期订单数", "reason": "原因",
}  # fmt: skip


class LabelledSerializer(serializers.Serializer):
    # Each declared field without a label takes the glossary's (FIELD_LABELS); DRF would make
    # one of the name ("Userid").

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, field in cls._declared_fields.items():
            if field.label is None and name in FIELD_LABELS:
                field.label = FIELD_LABELS[name]
                field._kwargs["label"] = field.label  # a deep copy re-makes it from these


class PaymentErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    status = serializers.IntegerField()
    timestamp = serializers.DateTimeField()
    fields = serializers.DictField(child=serializers.CharField(), required=False)


class FlatSerializer(LabelledSerializer):
    # A serializer of plain fields, cheaper to make. (Comments, not a docstring: subclasses would
    # inherit a docstring as their description in the OpenAPI schema.)
    #
    # DRF deep-copies a serializer's declared fields for every instance. A plain field keeps no
    # per-request state beyond what `bind` sets on it (its name and parent): what validation
    # finds lives on the serializer. So a shallow copy does, and it is what makes the status
    # poll and the search measurably faster (docs/performance.md). A field that holds another
    # (a nested serializer, a ListField's or DictField's child) is still deep-copied, so no
    # two copies share a child.

    def get_fields(self) -> dict:
        return {
            name: copy.deepcopy(field)
            if isinstance(field, serializers.BaseSerializer) or hasattr(field, "child")
            else _shallow_copy(field)
            for name, field in self._declared_fields.items()
        }


def _shallow_copy(field: serializers.Field) -> serializers.Field:
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    return clone


class PageQuerySerializer(FlatSerializer):
    # A page far past any table's end is refused rather than sent to the database as an OFFSET
    # that overflows it.
    page = serializers.IntegerField(
        min_value=0,
        max_value=10_000_000,
        default=0,
        error_messages={
            "invalid": "page必须是整数",
            "min_value": "page不能小于0",
            "max_value": "page不能大于10000000",
            "max_string_length": "page必须是整数",
        },
    )
    size = serializers.IntegerField(
        min_value=1,
        default=10,
        error_messages={
            "invalid": "size必须是整数",
            "min_value": "size不能小于1",
            "max_string_length": "size必须是整数",
        },
    )


def _rows(queryset, offset: int, size: int) -> list:
    """The rows `offset` to `offset + size`; past the first page in two steps, their ids (read
    from the index that orders them, skipping rows without reading them) and then the rows:
    with one query and a large offset MariaDB sorts the whole table (page 9999 of a million
    orders: 1.1 s)."""
    if offset == 0:
        return list(queryset[:size])
    ids = list(queryset.values_list("pk", flat=True)[offset : offset + size])
    rows = {row.pk: row for row in queryset.filter(pk__in=ids)}
    return [rows[pk] for pk in ids if pk in rows]


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
        rows = _rows(queryset, offset, self.size)
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


class BrowsableInput:
    """For a view whose input is `input_serializer`: DRF's browsable API renders an HTML form
    for it (so the view takes form posts besides JSON), and OPTIONS describes its fields. Both
    ask the view for `get_serializer`."""

    input_serializer: type[serializers.Serializer]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def get_serializer(self, *args, **kwargs):
        return self.input_serializer(*args, **kwargs)
