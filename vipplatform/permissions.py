from rest_framework.permissions import BasePermission

from .exceptions import NotFound


class IsOwnerOrStaff(BasePermission):
    """An order whose `user_id` is the requester's, or any order for staff. To anyone else it
    is not found, in the very words a missing one gets: a 403 would tell which exist."""

    def has_object_permission(self, request, view, obj) -> bool:
        if request.user.is_staff or obj.user_id == request.user.pk:
            return True
        raise NotFound("订单不存在")


def require_self_or_staff(request, user_id: int) -> None:
    """For paths that name a user: only that user, or staff, may go on; to anyone else the
    user is not found, as an unknown one is."""
    if not (request.user.is_staff or request.user.pk == user_id):
        raise NotFound("用户不存在")
