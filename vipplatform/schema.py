"""drf-spectacular's view of the project's API pieces."""

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


class VipSessionScheme(SessionScheme):
    target_class = "vipplatform.authentication.SessionAuthentication"


class AutoSchema(SpectacularAutoSchema):
    """Imported by DRF on first use, which also registers the extension above."""


def add_common_error_responses(result, generator, request, public):
    """Every operation can also answer 503 (database unavailable), and one with path
    parameters 404 (a value the route does not match): say so, in the path's error format."""
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        component = "EnvelopeError" if path.startswith("/api/users/") else "PaymentError"
        error = {
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}
            }
        }
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.setdefault("503", {**error, "description": "数据库暂时不可用"})
            if "{" in path:
                responses.setdefault("404", {**error, "description": "资源不存在"})
    return result
