"""The API: Django REST framework and the OpenAPI schema (drf-spectacular)."""

from .base import env

# --- API ------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["vipplatform.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "vipplatform.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["vipplatform.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "vipplatform.schema.AutoSchema",
    "EXCEPTION_HANDLER": "vipplatform.api.exception_handler",
    "COERCE_DECIMAL_TO_STRING": False,
    "DEFAULT_THROTTLE_RATES": {
        "order_create": env.str("THROTTLE_ORDER_CREATE", default="20/min"),
        "login_address": env.str("THROTTLE_LOGIN_ADDRESS", default="30/min"),
        "login_username": env.str("THROTTLE_LOGIN_USERNAME", default="10/min"),
        "check_username": env.str("THROTTLE_CHECK_USERNAME", default="60/min"),
        "password_change": env.str("THROTTLE_PASSWORD_CHANGE", default="10/min"),
        "register": env.str("THROTTLE_REGISTER", default="10/hour"),
        "email_change": env.str("THROTTLE_EMAIL_CHANGE", default="10/hour"),
        "notification_refused": env.str("THROTTLE_NOTIFICATION_REFUSED", default="30/min"),
    },
    "NUM_PROXIES": env.int("DJANGO_NUM_PROXIES", default=0),
    "DATETIME_FORMAT": "iso-8601",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "影视VIP会员与支付接口",
    "DESCRIPTION": "原支付服务和用户服务的全部 REST 路径（旧前端照常使用），以及管理员的搜索。",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "vipplatform.schema.add_common_error_responses",
        "vipplatform.schema.add_notification_paths",
        "vipplatform.schema.add_parameter_examples",
    ],
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "payments.models.OrderStatus",
        "PaymentMethodEnum": "payments.models.PaymentMethod",
        "GatewayResultEnum": "payments.models.GatewayResult",
    },
}
