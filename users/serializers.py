"""Input and output shapes of `/api/users/...`, with the old service's camelCase names."""

from django.apps import apps
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from vipplatform.api import FlatSerializer, LabelledSerializer, PageQuerySerializer
from vipplatform.fields import BoundedDateTimeField, column_length

from .models import DEFAULT_AVATAR, User, UserStatus
from .selectors import USER_SORT_FIELDS


class UserSerializer(FlatSerializer):
    """The user as the front end sees it; never the password or its hash."""

    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(label="用户名", read_only=True)
    email = serializers.EmailField(label="邮箱", read_only=True)
    phone = serializers.CharField(label="手机号", read_only=True, allow_null=True)
    avatar = serializers.CharField(label="头像", read_only=True, allow_null=True)
    # Null only where the site's data never recorded them.
    registerTime = serializers.DateTimeField(
        source="register_time", allow_null=True, read_only=True
    )
    lastLoginTime = serializers.DateTimeField(source="last_login", allow_null=True, read_only=True)
    userStatus = serializers.ChoiceField(
        source="user_status", choices=UserStatus.choices, read_only=True
    )
    isVip = serializers.SerializerMethodField()
    vipExpireTime = serializers.DateTimeField(
        source="vip_expire_time", allow_null=True, read_only=True
    )
    createTime = serializers.DateTimeField(source="create_time", allow_null=True, read_only=True)
    updateTime = serializers.DateTimeField(source="update_time", allow_null=True, read_only=True)

    @extend_schema_field(OpenApiTypes.INT)
    def get_isVip(self, user: User) -> int:
        return int(user.vip_active())


class PublicUserSerializer(FlatSerializer):
    """What anyone logged in may read of another user: what the site's comment list shows
    next to a comment (the old front end asks `GET /api/users/{authorId}` for each author)."""

    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(label="用户名", read_only=True)
    avatar = serializers.CharField(label="头像", read_only=True, allow_null=True)
    isVip = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.INT)
    def get_isVip(self, user: User) -> int:
        return int(user.vip_active())


def username_field(**kwargs) -> serializers.RegexField:
    return serializers.RegexField(
        r"^[\w.@+-]+\Z",
        min_length=3,
        max_length=20,
        error_messages={
            "required": "用户名不能为空",
            "blank": "用户名不能为空",
            "invalid": "用户名只能包含字母、数字和 @/./+/-/_",
            "min_length": "用户名长度必须在3-20之间",
            "max_length": "用户名长度必须在3-20之间",
        },
        **kwargs,
    )


def password_field(*, required_message: str = "密码不能为空", **kwargs) -> serializers.CharField:
    return serializers.CharField(
        min_length=6,
        max_length=20,
        write_only=True,
        trim_whitespace=False,
        error_messages={
            "required": required_message,
            "blank": required_message,
            "min_length": "密码长度必须在6-20之间",
            "max_length": "密码长度必须在6-20之间",
        },
        **kwargs,
    )


def email_field(**kwargs) -> serializers.EmailField:
    return serializers.EmailField(
        max_length=column_length(User, "email"),
        error_messages={
            "required": "邮箱不能为空",
            "blank": "邮箱不能为空",
            "null": "邮箱不能为空",
            "invalid": "邮箱格式不正确",
            "max_length": f"邮箱不能超过{column_length(User, 'email')}个字符",
        },
        **kwargs,
    )


def phone_field() -> serializers.RegexField:
    """A mainland mobile number, as the front end checks it; blank or null for none."""
    return serializers.RegexField(
        r"^1[3-9]\d{9}\Z",
        max_length=column_length(User, "phone"),
        required=False,
        allow_blank=True,
        allow_null=True,
        error_messages={"invalid": "手机号格式不正确", "max_length": "手机号格式不正确"},
    )


def avatar_field() -> serializers.RegexField:
    """An http(s) URL or a file name on the site (the old rows hold `default_avatar.jpg`)."""
    return serializers.RegexField(
        r"^(https?://[^\s\"'<>]+|[\w./-]+)\Z",
        max_length=column_length(User, "avatar"),
        required=False,
        allow_blank=True,
        allow_null=True,
        error_messages={
            "invalid": "头像地址格式不正确",
            "max_length": f"头像地址不能超过{column_length(User, 'avatar')}个字符",
        },
    )


def validate_new_password(password: str, *, user: User, field: str) -> None:
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise serializers.ValidationError({field: list(exc.messages)}) from None


class RegisterInput(LabelledSerializer):
    username = username_field()
    password = password_field()
    email = email_field()
    phone = phone_field()
    avatar = avatar_field()

    def validate(self, attrs: dict) -> dict:
        candidate = User(username=attrs["username"], email=attrs["email"])
        validate_new_password(attrs["password"], user=candidate, field="password")
        attrs["phone"] = attrs.get("phone") or None
        attrs["avatar"] = attrs.get("avatar") or DEFAULT_AVATAR
        return attrs


class CheckUsernameQuery(LabelledSerializer):
    username = username_field()


class ProfileInput(LabelledSerializer):
    """The fields a member may change; any other field is ignored."""

    email = email_field(required=False)
    phone = phone_field()
    avatar = avatar_field()


class PasswordChangeInput(LabelledSerializer):
    oldPassword = serializers.CharField(
        max_length=128,
        trim_whitespace=False,
        error_messages={"required": "原密码不能为空", "blank": "原密码不能为空"},
    )
    newPassword = password_field(required_message="新密码不能为空")


class UserListQuery(PageQuerySerializer):
    sort = serializers.ChoiceField(
        choices=list(USER_SORT_FIELDS),
        default="createTime",
        error_messages={"invalid_choice": "不支持的排序字段：{input}"},
    )
    direction = serializers.ChoiceField(
        choices=["asc", "desc", "ASC", "DESC"],
        default="desc",
        error_messages={"invalid_choice": "排序方向只能是 asc 或 desc"},
    )


class UserSearchQuery(UserListQuery):
    keyword = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="用户名、邮箱或手机号的一部分",
    )


class LoginInput(LabelledSerializer):
    username = serializers.CharField(
        # No account has a longer name: such a login is refused before any lookup.
        max_length=column_length(User, "username"),
        error_messages={
            "required": "用户名不能为空",
            "blank": "用户名不能为空",
            "max_length": f"用户名不能超过{column_length(User, 'username')}个字符",
        },
    )
    password = serializers.CharField(
        max_length=128,
        trim_whitespace=False,
        error_messages={"required": "密码不能为空", "blank": "密码不能为空"},
    )


class LoginOutput(FlatSerializer):
    sessionId = serializers.CharField()
    user = UserSerializer()
    loginTime = serializers.DateTimeField()
    maxInactiveInterval = serializers.IntegerField(help_text="会话有效期（秒）")


class VipUpdateInput(LabelledSerializer):
    vipType = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, error_messages={"required": "VIP类型不能为空"}
    )
    vipExpireTime = BoundedDateTimeField(
        error_messages={"required": "VIP到期时间不能为空"},
        help_text="须晚于现在，早于2100-01-01（站点时区）",
    )

    def validate_vipType(self, value: int) -> int:
        # Plans belong to the payments app; read them without importing its code.
        if not apps.get_model("payments", "VipPlan").objects.filter(pk=value).exists():
            raise serializers.ValidationError("VIP类型不存在")
        return value


class UserPage(LabelledSerializer):
    """A page of users, as the payment paths page orders (for the schema)."""

    content = UserSerializer(many=True)
    totalElements = serializers.IntegerField()
    totalPages = serializers.IntegerField()
    number = serializers.IntegerField()
    size = serializers.IntegerField()
    numberOfElements = serializers.IntegerField()
    first = serializers.BooleanField()
    last = serializers.BooleanField()
    empty = serializers.BooleanField()
