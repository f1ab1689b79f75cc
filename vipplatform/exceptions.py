"""Domain errors shared by the apps; `vipplatform.api.exception_handler` renders them."""

import math
from http import HTTPStatus


class DomainError(Exception):
    """A rule of the business was broken; `status` is the HTTP status the API answers with."""

    status: int = HTTPStatus.BAD_REQUEST
    message: str = "请求无效"
    field: str | None = None  # the input field to blame, if any
    # The old user service's business code (CONTRACT.md's table), answered on `/api/users/...`
    # instead of the HTTP status; None: the status is the code.
    code: int | None = None
    retry_after: int | None = None  # seconds, sent as Retry-After

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = message or self.message
        self.field = field or self.field
        super().__init__(self.message)


class NotFound(DomainError):
    status = HTTPStatus.NOT_FOUND
    message = "资源不存在"


class Conflict(DomainError):
    status = HTTPStatus.CONFLICT
    message = "状态冲突"


class TooManyRequests(DomainError):
    status = HTTPStatus.TOO_MANY_REQUESTS

    def __init__(self, wait: float) -> None:
        self.retry_after = max(1, math.ceil(wait))
        super().__init__(f"请求过于频繁，请{self.retry_after}秒后重试")
