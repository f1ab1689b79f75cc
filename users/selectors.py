from django.db.models import Q
from django.utils import timezone

from .exceptions import UserNotFound
from .models import User, vip_active_q


def user_get(*, user_id: int) -> User:
    try:
        return User.objects.get(pk=user_id)
    except User.DoesNotExist:
        raise UserNotFound(user_id) from None


# The sort fields of the staff lists, by the name the front end sends.
USER_SORT_FIELDS = {
    "id": "id",
    "username": "username",
    "createTime": "create_time",
    "registerTime": "register_time",
    "updateTime": "update_time",
    "lastLoginTime": "last_login",
    "vipExpireTime": "vip_expire_time",
}


def user_list(*, keyword: str = "", sort: str = "createTime", descending: bool = True):
    """Users for the staff lists: those whose username, email or phone contains `keyword`
    (all when it is empty), in the order asked, ties by id."""
    users = User.objects.all()
    if keyword:
        users = users.filter(
            Q(username__icontains=keyword)
            | Q(email__icontains=keyword)
            | Q(phone__icontains=keyword)
        )
    sign = "-" if descending else ""
    return users.order_by(f"{sign}{USER_SORT_FIELDS[sort]}", f"{sign}id")


def username_taken(*, username: str) -> bool:
    # Compared by the database, as the unique index compares (case-insensitively on MariaDB).
    return User.objects.filter(username=username).exists()


def active_member_count(*, now=None) -> int:
    """Memberships in force now (served by the (is_vip, vip_expire_time) index)."""
    return User.objects.filter(vip_active_q(now=now or timezone.now())).count()


def membership_snapshots(*, since) -> list:
    from .models import MembershipSnapshot

    return list(MembershipSnapshot.objects.filter(day__gte=since).order_by("day"))


def ledger_for_order(*, order_id: int) -> list:
    """The VIP changes an order made (its grant; later its refunds)."""
    from .models import VipLedgerEntry

    return list(
        VipLedgerEntry.objects.filter(Q(order_id=order_id) | Q(refund__order_id=order_id))
        .select_related("actor", "refund")
        .order_by("id")
    )


def emails_about(*, user_id: int, references: list[str] | None = None, limit: int = 20) -> list:
    """What a member was sent, newest first: about one order (its number, its refunds'
    numbers: `references`), or all."""
    from .models import MemberEmail

    emails = MemberEmail.objects.filter(user_id=user_id)
    if references is not None:
        emails = emails.filter(reference__in=references)
    return list(emails.order_by("-sent_at", "-id")[:limit])
