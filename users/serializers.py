"""Input and output shapes of `/api/users/...`, with the old service's camelCase names."""

from django.apps import apps
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from vipplatform.api import FlatSerializer, SiteDateTimeField

from .models import User, UserStatus


class UserSerializer(FlatSerializer):
    """The user as the front end sees it; never the password or its hash."""

    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(label="用户名", read_only=True)
    email = serializers.EmailField(label="邮箱", read_only=True)
    phone = serializers.CharField(label="手机号", read_only=True)
    avatar = serializers.CharField(label="头像", read_only=True)
    registerTime = SiteDateTimeField(source="register_time", read_only=True)
    lastLoginTime = SiteDateTimeField(source="last_login", allow_null=True, read_only=True)
    userStatus = serializers.ChoiceField(
        source="user_status", choices=UserStatus.choices, read_only=True
    )
    isVip = serializers.SerializerMethodField()
    vipExpireTime = SiteDateTimeField(source="vip_expire_time", allow_null=True, read_only=True)
    createTime = SiteDateTimeField(source="create_time", read_only=True)
    updateTime = SiteDateTimeField(source="update_time", read_only=True)

    @extend_schema_field(OpenApiTypes.INT)
    def get_isVip(self, user: User) -> int:
        return int(user.vip_active())


class RegisterInput(serializers.Serializer):
    username = serializers.RegexField(
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
    )
    password = serializers.CharField(
        min_length=6,
        max_length=20,
        write_only=True,
        trim_whitespace=False,
        error_messages={
            "required": "密码不能为空",
            "blank": "密码不能为空",
            "min_length": "密码长度必须在6-20之间",
            "max_length": "密码长度必须在6-20之间",
        },
    )
    email = serializers.EmailField(
        max_length=254,
        error_messages={
            "required": "邮箱不能为空",
            "blank": "邮箱不能为空",
            "invalid": "邮箱格式不正确",
        },
    )
    phone = serializers.RegexField(
        r"^\+?[0-9-]{5,20}\Z",
        required=False,
        allow_blank=True,
        error_messages={"invalid": "手机号格式不正确"},
    )
    avatar = serializers.URLField(max_length=255, required=False, allow_blank=True)

    def validate(self, attrs: dict) -> dict:
        candidate = User(username=attrs["username"], email=attrs["email"])
        try:
            password_validation.validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from None
        return attrs


class LoginInput(serializers.Serializer):
    username = serializers.CharField(
        max_length=150, error_messages={"required": "用户名不能为空", "blank": "用户名不能为空"}
    )
    password = serializers.CharField(
        max_length=128,
        trim_whitespace=False,
        error_messages={"required": "密码不能为空", "blank": "密码不能为空"},
    )


class LoginOutput(FlatSerializer):
    sessionId = serializers.CharField()
    user = UserSerializer()
    loginTime = SiteDateTimeField()
    maxInactiveInterval = serializers.IntegerField(help_text="会话有效期（秒）")


class VipUpdateInput(serializers.Serializer):
    vipType = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, error_messages={"required": "VIP类型不能为空"}
    )
    vipExpireTime = serializers.DateTimeField(error_messages={"required": "VIP到期时间不能为空"})

    def validate_vipType(self, value: int) -> int:
        # Plans belong to the payments app; read them without importing its code.
        if not apps.get_model("payments", "VipPlan").objects.filter(pk=value).exists():
            raise serializers.ValidationError("VIP类型不存在")
        return value
