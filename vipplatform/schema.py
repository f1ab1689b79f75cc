"""drf-spectacular's view of the project's API pieces."""

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

from .api import is_api_path, is_envelope_path
from .permissions import StaffRight


class VipSessionScheme(SessionScheme):
    target_class = "vipplatform.authentication.SessionAuthentication"


class AutoSchema(SpectacularAutoSchema):
    """Imported by DRF on first use, which also registers the extension above. Operations
    are tagged by path family."""

    TAGS = [
        ("/api/payment/orders", "订单管理"),
        ("/api/payment/", "支付"),
        ("/api/users/", "用户"),
    ]

    def get_description(self) -> str:
        """The view's description, and the permission a staff-only operation needs (the
        admin's own, granted there to a user or a group)."""
        description = super().get_description()
        rights = [
            permission.right
            for permission in self.view.get_permissions()
            if isinstance(permission, StaffRight)
        ]
        for right in rights:
            description += "\n\n需要权限（在管理后台授予）：" + " 或 ".join(
                f"`{name}`" for name in right
            )
        return description

    def get_tags(self) -> list[str]:
        path = self.path
        return [next((tag for prefix, tag in self.TAGS if path.startswith(prefix)), "其他")]


def add_common_error_responses(result, generator, request, public):
    """Every payment operation can also answer 503 (database unavailable), and one with path
    parameters 404 (a value the route does not match): say so, in the payment error format.
    `/api/users/...` answers HTTP 200 with the code in the body, errors included (its
    operations describe their codes); only a path its routes do not match is an HTTP 404."""
    not_found_envelope = {
        "type": "object",
        "properties": {
            "code": {"type": "integer", "enum": [404]},
            "message": {"type": "string"},
            "data": {"nullable": True},
        },
    }
    payment_error = {"$ref": "#/components/schemas/PaymentError"}
    for path, operations in result.get("paths", {}).items():
        if not is_api_path(path):
            continue
        users = is_envelope_path(path)
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if not users:
                responses.setdefault(
                    "503",
                    {
                        "content": {"application/json": {"schema": payment_error}},
                        "description": "数据库暂时不可用",
                    },
                )
            if "{" in path:
                schema = not_found_envelope if users else payment_error
                responses.setdefault(
                    "404",
                    {
                        "content": {"application/json": {"schema": schema}},
                        "description": "路径不存在",
                    },
                )
    return result
