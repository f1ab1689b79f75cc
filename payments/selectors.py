"""Read-only order queries shared by the API, the pages and the admin."""

from django.db.models import QuerySet

from .exceptions import OrderNotFound
from .models import VipOrder


def order_get(*, order_number: str | None = None, pk: int | None = None) -> VipOrder:
    lookup = {"order_number": order_number} if order_number is not None else {"pk": pk}
    try:
        return VipOrder.objects.select_related("plan").get(**lookup)
    except VipOrder.DoesNotExist:
        raise OrderNotFound() from None


def order_list_for_user(*, user_id: int) -> QuerySet[VipOrder]:
    """A user's orders, newest first (served by the (user_id, create_time) index)."""
    return (
        VipOrder.objects.filter(user_id=user_id)
        .select_related("plan")
        .order_by("-create_time", "-id")
    )
