"""Domain errors shared by the apps, in the business's terms: what kind of rule was broken,
a message for people, the input it concerns (by its name in the domain, snake_case). They know
nothing of HTTP: `vipplatform.api` maps each kind to a status and each field to the API's
camelCase name."""

import enum
import math


class ErrorKind(enum.Enum):
    INVALID = "invalid"  # the input breaks a rule
    UNAUTHENTICATED = "unauthenticated"  # who is asking is unknown or unproven
    FORBIDDEN = "forbidden"  # known, and not allowed
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"  # the thing is not in a state that allows it
    TOO_MANY = "too_many"  # too often; try again later
    TOO_LARGE = "too_large"
    UNAVAILABLE = "unavailable"  # a service we depend on (a payment provider) did not answer


class DomainError(Exception):
    """A rule of the business was broken."""

    kind: ErrorKind = ErrorKind.INVALID
    message: str = "请求无效"
    field: str | None = None  # the input to blame, if any (snake_case)
    # The old user service's business code for this error (the README's error protocol), which
    # its front end reads; None: the kind's own.
    code: int | None = None
    retry_after: int | None = None  # seconds before trying again

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = message or self.message
        self.field = field or self.field
        super().__init__(self.message)


class NotFound(DomainError):
    kind = ErrorKind.NOT_FOUND
    message = "资源不存在"


class Conflict(DomainError):
    kind = ErrorKind.CONFLICT
    message = "状态冲突"


class TooManyRequests(DomainError):
    kind = ErrorKind.TOO_MANY

    def __init__(self, wait: float) -> None:
        self.retry_after = max(1, math.ceil(wait))
        super().__init__(f"请求过于频繁，请{self.retry_after}秒后重试")
