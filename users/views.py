"""Server-rendered user pages (Django's own login and logout views serve the rest)."""

import math

from django.conf import settings
from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from vipplatform.throttling import RegistrationThrottle

from . import services
from .exceptions import EmailTaken, UsernameTaken
from .forms import RegisterForm


@never_cache  # the form echoes what was typed
def register(request):
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = RegisterForm(request.POST or None)
    throttle = RegistrationThrottle()
    if request.method == "POST" and not throttle.allow_request(request, None):
        form.add_error(None, f"注册过于频繁，请{math.ceil(throttle.wait() or 1)}秒后再试。")
    elif request.method == "POST" and form.is_valid():
        try:
            user = services.user_register(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                email=form.cleaned_data["email"],
            )
        except (UsernameTaken, EmailTaken) as exc:
            form.add_error(exc.field, exc.message)
        else:
            login(request, user)
            return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "registration/register.html", {"form": form})
