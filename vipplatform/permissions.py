"""Who may do what in the API: owners, and staff holding the Django permission the admin
checks for the same work. Being staff (`is_staff`) only lets an account into the admin; what
it may see and change there, and here, is the permissions the admin grants it (directly or
through a group). A superuser holds every permission.

The rights, by the admin's own permission codes:
- reading users: view (or change) users, as the admin's user list;
- changing a membership: change users, as the admin's 开通/延长VIP and 取消VIP actions;
- deleting a user: delete users;
- reading any order, searching them, the statistics: view (or change) orders;
- cancelling anyone's order, expiring overdue orders: change orders, as the bulk cancel action;
- creating an order for another user: add orders;
- refunding an order, and reading its refunds: refund orders (a permission of its own).
"""

from rest_framework.permissions import BasePermission

from .exceptions import NotFound

VIEW_USERS = ("users.view_user", "users.change_user")
CHANGE_MEMBERSHIPS = ("users.change_user",)
DELETE_USERS = ("users.delete_user",)
VIEW_ORDERS = ("payments.view_viporder", "payments.change_viporder")
CHANGE_ORDERS = ("payments.change_viporder",)
CREATE_ORDERS = ("payments.add_viporder",)
REFUND_ORDERS = ("payments.refund_viporder",)


def has_staff_right(user, right: tuple[str, ...]) -> bool:
    """Whether `user` is active staff holding any of the permissions of `right` (the admin's
    own test: staff to enter, then the permission)."""
    return bool(
        user.is_authenticated
        and user.is_active
        and user.is_staff
        and any(user.has_perm(permission) for permission in right)
    )


class StaffRight(BasePermission):
    """Base of `staff_right(...)`: the view is for staff holding `right`. Anyone else gets a
    403 (401 when not logged in, from the authentication)."""

    right: tuple[str, ...] = ()
    message = "禁止访问：没有该操作的权限"

    def has_permission(self, request, view) -> bool:
        return has_staff_right(request.user, self.right)


def staff_right(right: tuple[str, ...]) -> type[StaffRight]:
    """A DRF permission class for staff holding `right` (one of the tuples above)."""
    return type(f"StaffRight_{'_'.join(right)}", (StaffRight,), {"right": right})


class IsOwnerOrStaff(BasePermission):
    """An order whose `user_id` is the requester's, or any order for staff who may view orders
    (change them, for an unsafe method). To anyone else it is not found, in the very words a
    missing one gets: a 403 would tell which exist. (A member's 连续包月 agreement too, with
    its own `missing`.)"""

    missing = "订单不存在"

    def has_object_permission(self, request, view, obj) -> bool:
        if obj.user_id == request.user.pk:
            return True
        right = VIEW_ORDERS if request.method in ("GET", "HEAD", "OPTIONS") else CHANGE_ORDERS
        if has_staff_right(request.user, right):
            return True
        raise NotFound(self.missing)


def require_self_or(request, user_id: int, right: tuple[str, ...], *, missing: str) -> None:
    """For paths that name a user: only that user, or staff holding `right`, may go on; to
    anyone else the thing is not found (`missing`), as for an unknown user."""
    if request.user.pk != user_id and not has_staff_right(request.user, right):
        raise NotFound(missing)
