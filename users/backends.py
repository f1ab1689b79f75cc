"""Authentication: every login attempt counted against one throttle (whichever page or API it
comes through), and the session's user read through the read cache."""

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from vipplatform import readcache
from vipplatform.throttling import login_wait

from .models import User


class LoginThrottled(PermissionDenied):
    """Raised by the backend: Django's `authenticate` then tries no other backend and answers
    None; the views read `request.login_throttled` to say why."""


class UserBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is not None and isinstance(username, str):
            wait = login_wait(request, username)
            if wait is not None:
                request.login_throttled = wait
                raise LoginThrottled()
        return super().authenticate(request, username, password, **kwargs)

    def get_user(self, user_id):
        user = readcache.cached_user(
            user_id, load=lambda: User._default_manager.filter(pk=user_id).first()
        )
        return user if user is not None and self.user_can_authenticate(user) else None
