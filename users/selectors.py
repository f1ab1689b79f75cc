from .exceptions import UserNotFound
from .models import User


def user_get(*, user_id: int) -> User:
    try:
        return User.objects.get(pk=user_id)
    except User.DoesNotExist:
        raise UserNotFound(user_id) from None
