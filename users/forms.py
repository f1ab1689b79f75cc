import math

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, BaseUserCreationForm

from .models import User


class RegisterForm(BaseUserCreationForm):
    """The sign-up page's form: the API's rules (username 3-20, password 6-20, email)."""

    email = forms.EmailField(label="邮箱", max_length=254)

    class Meta(BaseUserCreationForm.Meta):
        model = User
        fields = ["username", "email"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].min_length = 3
        self.fields["username"].max_length = 20
        self.fields["username"].help_text = "3-20个字符：字母、数字和 @/./+/-/_"
        self.fields["password1"].help_text = "6-20个字符，不能过于常见"

    def clean_password1(self):
        password = self.cleaned_data.get("password1", "")
        if not 6 <= len(password) <= 20:
            raise forms.ValidationError("密码长度必须在6-20之间")
        return password


class ThrottledLoginMixin:
    """A login form that says when the attempt was refused for being one too many (the
    authentication backend counts every attempt, for all the ways to log in)."""

    throttled = False

    def get_invalid_login_error(self):
        wait = getattr(self.request, "login_throttled", None)
        if wait:
            self.throttled = True
            return forms.ValidationError(
                f"登录尝试过于频繁，请{math.ceil(wait)}秒后再试。", code="throttled"
            )
        return super().get_invalid_login_error()


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass
