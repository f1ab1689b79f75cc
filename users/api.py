"""`/api/users/...`: thin DRF views in the old user service's protocol. Every answer is HTTP 200
with the envelope {"code", "message", "data"}, errors included (`vipplatform.api`)."""

from django.conf import settings
from django.contrib.auth import login, logout, update_session_auth_hash
from django.middleware.csrf import get_token
from django.utils.crypto import salted_hmac
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from vipplatform.api import BrowsableInput, SpringPagination, envelope, envelope_responses
from vipplatform.permissions import (
    CHANGE_MEMBERSHIPS,
    DELETE_USERS,
    VIEW_USERS,
    has_staff_right,
    staff_right,
)
from vipplatform.throttling import RegistrationThrottle, ScopedRateThrottle, check_email_change

from . import selectors, services
from .serializers import (
    CheckUsernameQuery,
    LoginInput,
    LoginOutput,
    PasswordChangeInput,
    ProfileInput,
    PublicUserSerializer,
    RegisterInput,
    UserListQuery,
    UserPage,
    UserSearchQuery,
    UserSerializer,
    VipUpdateInput,
)

# The codes an operation may answer besides 200, for the schema's descriptions.
BAD_INPUT = {"c400": "请求参数错误（message 为第一个字段的错误）"}
LOGGED_IN = {"c401": "未登录"}
STAFF = {"c401": "未登录", "c403": "禁止访问"}
UNKNOWN_USER = {"c404": "资源不存在"}
EMPTY = serializers.JSONField(allow_null=True, default=None)


def _ensure_csrf_cookie(request) -> None:
    """The front end's next unsafe request needs the XSRF-TOKEN cookie. Only when it has none:
    `get_token` would mask a new token and set the cookie again on every read."""
    if settings.CSRF_COOKIE_NAME not in request.COOKIES:
        get_token(request)


def _validated(serializer_class, data) -> dict:
    params = serializer_class(data=data)
    params.is_valid(raise_exception=True)
    return params.validated_data


class RegisterView(BrowsableInput, APIView):
    """注册新用户：用户名 3-20 位，密码 6-20 位且不能过于常见，邮箱必填且唯一。"""

    name = "注册"  # its title in the browsable API

    input_serializer = RegisterInput
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [RegistrationThrottle]

    @extend_schema(
        summary="注册",
        request=RegisterInput,
        examples=[
            OpenApiExample(
                "新用户",
                value={
                    "username": "newmember",
                    "password": "vip-Member-2026",
                    "email": "newmember@example.com",
                },
                request_only=True,
            )
        ],
        responses=envelope_responses(
            "UserEnvelope",
            UserSerializer(),
            **BAD_INPUT,
            c429="注册过于频繁",
            c1001="用户名已存在",
            c1002="邮箱已被注册",
        ),
    )
    def post(self, request):
        user = services.user_register(**_validated(RegisterInput, request.data))
        return envelope(UserSerializer(user).data, message="注册成功")


class CheckUsernameView(APIView):
    """用户名是否可用（注册页在输入框失去焦点时查询）。"""

    name = "用户名是否可用"  # its title in the browsable API

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "check_username"

    @extend_schema(
        summary="用户名是否可用",
        parameters=[CheckUsernameQuery],
        responses=envelope_responses(
            "UsernameFreeEnvelope", serializers.BooleanField(), **BAD_INPUT, c429="请求过于频繁"
        ),
    )
    def get(self, request):
        username = _validated(CheckUsernameQuery, request.query_params)["username"]
        free = not selectors.username_taken(username=username)
        return envelope(free, message="用户名可用" if free else "用户名已存在")


class LoginView(BrowsableInput, APIView):
    """用户名和密码登录，建立会话（Cookie）。`sessionId` 只是前端保存的标记，不能代替 Cookie。
    尝试次数按账号和地址限制，网页、管理后台和接口共用同一限额。"""

    name = "登录"  # its title in the browsable API

    input_serializer = LoginInput
    # Anonymous: no session yet, so no CSRF token to check (DRF checks it for sessions only).
    # Attempts are counted by the authentication backend, for every way to log in.
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="登录",
        request=LoginInput,
        examples=[
            OpenApiExample(
                "演示账号",
                value={"username": "demo", "password": "demo-vip-2026"},
                request_only=True,
            )
        ],
        responses=envelope_responses(
            "LoginEnvelope",
            LoginOutput(),
            **BAD_INPUT,
            c429="登录尝试过于频繁",
            c1005="账号已被禁用",
            c1006="用户名或密码错误",
        ),
    )
    def post(self, request):
        user = services.user_authenticate(request, **_validated(LoginInput, request.data))
        login(request, user)  # new session key and a fresh CSRF cookie
        data = {
            # The front end keeps this as its "token" and only checks that there is one. It is
            # derived from the session key and grants nothing: the HttpOnly cookie does.
            "sessionId": salted_hmac(
                "users.login.sessionId", request.session.session_key
            ).hexdigest(),
            "user": user,
            "loginTime": user.last_login,
            "maxInactiveInterval": settings.SESSION_COOKIE_AGE,
        }
        return envelope(LoginOutput(data).data, message="登录成功")


class LogoutView(APIView):
    """退出登录。无论是否登录都返回 200（旧前端收到 401 就会调用退出，退出再返回 401 会死循环）。"""

    name = "退出登录"  # its title in the browsable API

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="退出登录", request=None, responses=envelope_responses("LogoutEnvelope", EMPTY)
    )
    def post(self, request):
        logout(request._request)  # Django's request: its user is the one logging out
        return envelope(message="登出成功")


class CurrentUserView(APIView):
    """当前登录的用户；`isVip` 只在会员未到期时为 1。"""

    name = "当前用户"  # its title in the browsable API

    @extend_schema(
        summary="当前登录用户",
        responses=envelope_responses("UserEnvelope", UserSerializer(), **LOGGED_IN),
    )
    def get(self, request):
        _ensure_csrf_cookie(request)
        return envelope(UserSerializer(request.user).data)


class LoginStatusView(APIView):
    """是否已登录（true / false），同时下发 CSRF Cookie（XSRF-TOKEN）。"""

    name = "登录状态"  # its title in the browsable API

    permission_classes = [AllowAny]

    @extend_schema(
        summary="是否已登录",
        responses=envelope_responses("LoginStatusEnvelope", serializers.BooleanField()),
    )
    def get(self, request):
        _ensure_csrf_cookie(request)
        return envelope(request.user.is_authenticated)


class ProfileView(BrowsableInput, APIView):
    """修改自己的邮箱、手机号（1 开头的 11 位手机号）和头像；其他字段会被忽略。"""

    name = "个人资料"  # its title in the browsable API

    input_serializer = ProfileInput

    @extend_schema(
        summary="修改个人资料（邮箱、手机号、头像）",
        request=ProfileInput,
        examples=[OpenApiExample("手机号", value={"phone": "13800138000"}, request_only=True)],
        responses=envelope_responses(
            "UserEnvelope",
            UserSerializer(),
            **BAD_INPUT,
            **LOGGED_IN,
            c429="修改邮箱过于频繁（每个账号、每个地址每小时10次）",
            c1002="邮箱已被注册",
        ),
    )
    def put(self, request):
        changes = _validated(ProfileInput, request.data)
        if changes.get("email") and changes["email"].lower() != request.user.email.lower():
            check_email_change(request)  # each answer tells whether an address is taken
        user = services.user_update_profile(user=request.user, **changes)
        return envelope(UserSerializer(user).data, message="更新成功")


class PasswordView(BrowsableInput, APIView):
    """修改密码：旧前端用查询参数 `oldPassword`、`newPassword` 传递，也接受 JSON 请求体。
    当前会话保持登录，该用户的其他会话失效。"""

    name = "修改密码"  # its title in the browsable API

    input_serializer = PasswordChangeInput

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "password_change"

    @extend_schema(
        summary="修改密码",
        parameters=[PasswordChangeInput],
        request=PasswordChangeInput,
        examples=[
            OpenApiExample(
                "新旧密码",
                value={"oldPassword": "demo-vip-2026", "newPassword": "demo-vip-2027"},
                request_only=True,
            )
        ],
        responses=envelope_responses(
            "PasswordEnvelope",
            EMPTY,
            **BAD_INPUT,
            **LOGGED_IN,
            c429="请求过于频繁",
            c1007="原密码错误",
        ),
    )
    def put(self, request):
        source = request.query_params if "oldPassword" in request.query_params else request.data
        params = _validated(PasswordChangeInput, source)
        user = services.user_change_password(
            user=request.user,
            old_password=params["oldPassword"],
            new_password=params["newPassword"],
        )
        update_session_auth_hash(request._request, user)  # this session stays logged in
        return envelope(message="密码修改成功")


class UserListView(APIView):
    """用户列表（需要“查看用户”权限），分页；`sort` 可为 id、username、createTime、registerTime、
    updateTime、lastLoginTime、vipExpireTime，`direction` 为 asc 或 desc。"""

    name = "用户列表"  # its title in the browsable API

    permission_classes = [staff_right(VIEW_USERS)]
    query_serializer = UserListQuery

    @extend_schema(
        summary="用户列表（管理员）",
        parameters=[UserListQuery],
        responses=envelope_responses("UserPageEnvelope", UserPage(), **BAD_INPUT, **STAFF),
    )
    def get(self, request):
        params = _validated(self.query_serializer, request.query_params)
        users = selectors.user_list(
            keyword=params.get("keyword", ""),
            sort=params["sort"],
            descending=params["direction"].lower() == "desc",
        )
        pagination = SpringPagination()
        rows = pagination.paginate(users, page=params["page"], size=params["size"])
        page = pagination.get_paginated_response(UserSerializer(rows, many=True).data).data
        return envelope(page)


class UserSearchView(UserListView):
    """按关键字搜索用户（需要“查看用户”权限）：用户名、邮箱或手机号包含关键字。"""

    name = "用户搜索"  # its title in the browsable API

    query_serializer = UserSearchQuery

    @extend_schema(
        summary="搜索用户（管理员）：用户名、邮箱或手机号包含关键字",
        parameters=[UserSearchQuery],
        responses=envelope_responses("UserPageEnvelope", UserPage(), **BAD_INPUT, **STAFF),
    )
    def get(self, request):
        return super().get(request)


class UserDetailView(APIView):
    """一个用户。本人和有“查看用户”权限的管理员得到完整资料；其他登录用户只得到评论区
    需要的公开资料（id、username、avatar、isVip）。管理员（“删除用户”权限）可删除账户，
    有订单或VIP记录的账户改为禁用。"""

    name = "用户详情"  # its title in the browsable API

    @extend_schema(
        summary="用户信息（他人只返回公开资料）",
        responses=envelope_responses("UserEnvelope", UserSerializer(), **LOGGED_IN, **UNKNOWN_USER),
    )
    def get(self, request, user_id: int):
        user = selectors.user_get(user_id=user_id)
        if user.pk == request.user.pk or has_staff_right(request.user, VIEW_USERS):
            return envelope(UserSerializer(user).data)
        return envelope(PublicUserSerializer(user).data)

    @extend_schema(
        summary="删除账户（管理员）；有订单或VIP记录的账户改为禁用，订单保留",
        responses=envelope_responses(
            "DeleteEnvelope",
            EMPTY,
            **STAFF,
            **UNKNOWN_USER,
            c409="不能删除当前登录的账户",
        ),
    )
    def delete(self, request, user_id: int):
        if not has_staff_right(request.user, DELETE_USERS):
            self.permission_denied(request)
        deleted = services.user_delete(user_id=user_id, actor=request.user)
        return envelope(
            message="账户删除成功" if deleted else "该用户有订单记录，账户已禁用，订单保留"
        )


def _set_vip(request, user_id: int, data) -> None:
    params = _validated(VipUpdateInput, data)
    services.vip_set(
        user_id=user_id,
        expire_time=params["vipExpireTime"],
        actor=request.user,
        reason=f"管理员通过接口设置（vipType={params['vipType']}）",
    )


VIP_SET_RESPONSES = envelope_responses(
    "VipSetEnvelope", EMPTY, **BAD_INPUT, **STAFF, **UNKNOWN_USER
)


class UserVipView(BrowsableInput, APIView):
    """设置（PUT，精确到期时间，须晚于现在）或取消（DELETE）一个用户的VIP（管理员）。"""

    name = "用户的VIP"  # its title in the browsable API

    input_serializer = VipUpdateInput

    permission_classes = [staff_right(CHANGE_MEMBERSHIPS)]

    @extend_schema(
        summary="设置VIP状态（管理员）",
        request=VipUpdateInput,
        responses=VIP_SET_RESPONSES,
        examples=[
            OpenApiExample(
                "开通到2030年底",
                value={"vipType": 1, "vipExpireTime": "2030-12-31T23:59:59"},
                request_only=True,
            )
        ],
    )
    def put(self, request, user_id: int):
        _set_vip(request, user_id, request.data)
        return envelope(message="VIP状态更新成功")

    @extend_schema(
        summary="取消VIP状态（管理员）",
        responses=envelope_responses("VipRevokeEnvelope", EMPTY, **STAFF, **UNKNOWN_USER),
    )
    def delete(self, request, user_id: int):
        services.vip_revoke(user_id=user_id, actor=request.user, reason="管理员通过接口取消")
        return envelope(message="VIP状态已取消")


class UserVipParamsView(APIView):
    """与 PUT /vip 相同，参数放在查询字符串中（旧服务也支持）。"""

    name = "用户的VIP（查询参数）"  # its title in the browsable API

    permission_classes = [staff_right(CHANGE_MEMBERSHIPS)]

    @extend_schema(
        summary="设置VIP状态（管理员，查询参数）",
        parameters=[VipUpdateInput],
        request=None,
        responses=VIP_SET_RESPONSES,
    )
    def put(self, request, user_id: int):
        _set_vip(request, user_id, request.query_params)
        return envelope(message="VIP状态更新成功")
