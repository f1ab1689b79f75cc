from django import forms
from django.contrib.auth.forms import BaseUserCreationForm

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
