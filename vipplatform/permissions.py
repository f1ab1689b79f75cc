from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission


class IsOwnerOrStaff(BasePermission):
    """An object whose `user_id` is the requester's, or any object for staff."""

    message = "无权访问该资源"

    def has_object_permission(self, request, view, obj) -> bool:
        return request.user.is_staff or obj.user_id == request.user.pk


def require_self_or_staff(request, user_id: int) -> None:
    """For paths that name a user: only that user, or staff, may go on."""
    if not (request.user.is_staff or request.user.pk == user_id):
        raise PermissionDenied("无权访问其他用户的数据")
