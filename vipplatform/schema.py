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
        ("/api/search", "搜索"),
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


def add_notification_paths(result, generator, request, public):
    """The payment providers' notification paths (plain Django views, each speaking its
    provider's protocol, so not DRF's): documented for the reader, not for "Try it out"
    (their bodies are signed by the provider)."""
    wechat = {
        "post": {
            "operationId": "payment_notify_wechat",
            "summary": "微信支付通知（支付与退款结果）",
            "description": (
                "微信支付 v3 的异步通知：平台证书签名（Wechatpay-Signature 等请求头）校验、"
                "AES-256-GCM 解密后处理，与 /api/payment/callback 走同一条路径。"
                '成功返回 204（无内容）；失败返回 4xx/5xx 和 `{"code": "FAIL", "message": …}`，'
                "微信支付会重发。请求由微信支付签名，不能在此页面试调用。"
            ),
            "tags": ["支付"],
            "security": [],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "responses": {
                "204": {"description": "已处理（或重复通知）"},
                "400": {"description": '签名、时间戳或内容无效：`{"code": "FAIL"}`'},
                "401": {"description": '签名无效：`{"code": "FAIL"}`'},
                "404": {"description": "未配置微信支付或订单不存在"},
                "503": {"description": "数据库暂不可用：稍后由微信支付重发"},
            },
        }
    }
    alipay = {
        "post": {
            "operationId": "payment_notify_alipay",
            "summary": "支付宝异步通知",
            "description": (
                "支付宝的异步通知（application/x-www-form-urlencoded）：支付宝公钥验签后处理，"
                "与 /api/payment/callback 走同一条路径。成功返回 200 `success`（text/plain），"
                "失败返回 4xx/5xx `fail`，支付宝会重发。请求由支付宝签名，不能在此页面试调用。"
            ),
            "tags": ["支付"],
            "security": [],
            "requestBody": {
                "required": True,
                "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}},
            },
            "responses": {
                "200": {
                    "description": "`success`：已处理（或重复通知）",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                "400": {"description": "`fail`：内容无效"},
                "401": {"description": "`fail`：签名无效"},
                "404": {"description": "未配置支付宝，或订单不存在"},
                "503": {"description": "`fail`：数据库暂不可用，稍后由支付宝重发"},
            },
        }
    }
    result["paths"]["/api/payment/notify/wechat"] = wechat
    result["paths"]["/api/payment/notify/alipay"] = alipay
    return result


# What "Try it out" fills in for a parameter of that name: a value the API takes (an order or a
# user that does not exist answers the documented 404).
PARAMETER_EXAMPLES = {
    "id": 1,
    "user_id": 1,
    "order_number": "20261204120000a1b2c3d4e5f60718",
    "agreement_number": "A20261204120000a1b2c3d4e5f60718",
    "username": "newmember",
    "vipType": 1,
    "vipExpireTime": "2030-12-31T23:59:59",
    "oldPassword": "demo-vip-2026",
    "newPassword": "demo-vip-2027",
    "q": "demo",
    "keyword": "demo",
    "page": 0,
    "size": 10,
}


def add_parameter_examples(result, generator, request, public):
    """Each parameter an example of its name (`PARAMETER_EXAMPLES`), unless it has one."""
    for operations in result["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                name = parameter["name"]
                if name in PARAMETER_EXAMPLES and not (
                    "example" in parameter or "examples" in parameter
                ):
                    parameter["example"] = PARAMETER_EXAMPLES[name]
    return result
