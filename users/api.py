"""`/api/users/...`: thin DRF views; every answer is in the {"code", "message", "data"}
envelope."""

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.middleware.csrf import get_token
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.views import APIView

from vipplatform.api import EnvelopeErrorSerializer, envelope, envelope_schema, error_responses
from vipplatform.permissions import require_self_or_staff
from vipplatform.throttling import LoginAddressThrottle, LoginUsernameThrottle

from . import selectors, services
from .serializers import LoginInput, LoginOutput, RegisterInput, UserSerializer, VipUpdateInput

USER_ENVELOPE = envelope_schema("UserEnvelope", UserSerializer())
EMPTY_ENVELOPE = envelope_schema("EmptyEnvelope", None)
_errors = error_responses(
    EnvelopeErrorSerializer,
    {
        400: "请求参数无效",
        401: "未登录",
        403: "无权访问",
        404: "用户不存在",
        409: "用户名已存在",
        429: "登录尝试过于频繁",
    },
)


def _ensure_csrf_cookie(request) -> None:
    """The front end's next unsafe request needs the XSRF-TOKEN cookie. Only when it has none:
    `get_token` would mask a new token and set the cookie again on every read."""
    if settings.CSRF_COOKIE_NAME not in request.COOKIES:
        get_token(request)


class RegisterView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="注册",
        request=RegisterInput,
        responses={200: USER_ENVELOPE, **_errors(400, 409)},
    )
    def post(self, request):
        params = RegisterInput(data=request.data)
        params.is_valid(raise_exception=True)
        user = services.user_register(**params.validated_data)
        return envelope(UserSerializer(user).data, message="注册成功")


class LoginView(APIView):
    # Anonymous: no session yet, so no CSRF token to check (DRF checks it for sessions only).
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginAddressThrottle, LoginUsernameThrottle]

    @extend_schema(
        summary="登录",
        request=LoginInput,
        responses={
            200: envelope_schema("LoginEnvelope", LoginOutput()),
            **_errors(400, 401, 429),
        },
    )
    def post(self, request):
        params = LoginInput(data=request.data)
        params.is_valid(raise_exception=True)
        user = authenticate(request, **params.validated_data)
        if user is None:
            raise AuthenticationFailed("用户名或密码错误")
        login(request, user)  # new session key and a fresh CSRF cookie
        data = {
            "sessionId": request.session.session_key,
            "user": user,
            "loginTime": user.last_login,
            "maxInactiveInterval": settings.SESSION_COOKIE_AGE,
        }
        return envelope(LoginOutput(data).data, message="登录成功")

    def get_authenticate_header(self, request) -> str:
        return "Session"


class LogoutView(APIView):
    @extend_schema(
        summary="退出登录", request=None, responses={200: EMPTY_ENVELOPE, **_errors(401, 403)}
    )
    def post(self, request):
        logout(request)
        return envelope(message="退出成功")


class CurrentUserView(APIView):
    @extend_schema(summary="当前登录用户", responses={200: USER_ENVELOPE, **_errors(401)})
    def get(self, request):
        _ensure_csrf_cookie(request)
        return envelope(UserSerializer(request.user).data)


class LoginStatusView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="是否已登录",
        responses={200: envelope_schema("LoginStatusEnvelope", serializers.BooleanField())},
    )
    def get(self, request):
        _ensure_csrf_cookie(request)
        return envelope(request.user.is_authenticated)


class UserDetailView(APIView):
    @extend_schema(summary="用户信息", responses={200: USER_ENVELOPE, **_errors(401, 403, 404)})
    def get(self, request, user_id: int):
        require_self_or_staff(request, user_id)
        return envelope(UserSerializer(selectors.user_get(user_id=user_id)).data)


class UserVipView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        summary="设置VIP状态（管理员）",
        request=VipUpdateInput,
        responses={200: EMPTY_ENVELOPE, **_errors(400, 401, 403, 404)},
    )
    def put(self, request, user_id: int):
        params = VipUpdateInput(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        services.vip_set(
            user_id=user_id,
            expire_time=data["vipExpireTime"],
            actor=request.user,
            reason=f"管理员通过接口设置（vipType={data['vipType']}）",
        )
        return envelope(message="VIP状态更新成功")

    @extend_schema(
        summary="取消VIP状态（管理员）", responses={200: EMPTY_ENVELOPE, **_errors(401, 403, 404)}
    )
    def delete(self, request, user_id: int):
        services.vip_revoke(user_id=user_id, actor=request.user, reason="管理员通过接口取消")
        return envelope(message="VIP状态已取消")
