"""The one search box staff use: on the admin's index (`/admin/search/`) and in the staff API
(`GET /api/search?q=`). A username, an email, a phone, an order number or its first
characters, a payment provider's transaction id; each looked up by an index (a substring
would scan a million orders), the exact matches first, and only what the searcher may see
(users with the right to read users, orders with the right to read orders)."""

from dataclasses import dataclass

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from payments.models import VipOrder
from users.models import User
from vipplatform.permissions import VIEW_ORDERS, VIEW_USERS, has_staff_right

LIMIT = 20  # of each kind: exact users, exact orders, users and orders by their start
MAX_TERM = 100


@dataclass(frozen=True)
class Hit:
    kind: str  # "user" or "order"
    id: int
    label: str  # the username, or the order number
    detail: str
    exact: bool
    url: str  # its admin page


def _user_hit(user: User, *, exact: bool) -> Hit:
    vip = "VIP" if user.vip_active() else "非VIP"
    return Hit(
        kind="user",
        id=user.pk,
        label=user.username,
        detail=" · ".join(filter(None, [user.email, user.phone, vip])),
        exact=exact,
        url=reverse("admin:users_user_change", args=[user.pk]),
    )


def _order_hit(order: VipOrder, *, exact: bool) -> Hit:
    created = f"{timezone.localtime(order.create_time):%Y-%m-%d %H:%M}" if order.create_time else ""
    return Hit(
        kind="order",
        id=order.pk,
        label=order.order_number,
        detail=" · ".join(
            filter(
                None,
                [
                    order.plan_name,
                    f"¥{order.amount}",
                    order.get_effective_status_display(),
                    created,
                ],
            )
        ),
        exact=exact,
        url=reverse("admin:payments_viporder_change", args=[order.pk]),
    )


def search(term: str, *, user) -> list[Hit]:
    """What `term` names, exact matches first, at most LIMIT of each kind."""
    term = term.strip()[:MAX_TERM]
    if not term:
        return []
    users = has_staff_right(user, VIEW_USERS)
    orders = has_staff_right(user, VIEW_ORDERS)
    exact: list[Hit] = []
    starting: list[Hit] = []
    if users:
        found = list(
            User.objects.filter(Q(username=term) | Q(email=term) | Q(phone=term)).order_by("id")[
                :LIMIT
            ]
        )
        exact += [_user_hit(u, exact=True) for u in found]
        starting += [
            _user_hit(u, exact=False)
            for u in User.objects.filter(Q(username__istartswith=term) | Q(email__istartswith=term))
            .exclude(pk__in=[u.pk for u in found])
            .order_by("username")[:LIMIT]
        ]
    if orders:
        found = list(
            VipOrder.objects.filter(Q(order_number=term) | Q(transaction_id=term))
            .select_related(None)
            .order_by("-id")[:LIMIT]
        )
        exact += [_order_hit(o, exact=True) for o in found]
        starting += [
            _order_hit(o, exact=False)
            for o in VipOrder.objects.filter(order_number__istartswith=term)
            .exclude(pk__in=[o.pk for o in found])
            .order_by("order_number")[:LIMIT]
        ]
    return exact + starting


# --- the admin page and the API path -----------------------------------------------------------


def admin_search(request):
    """/admin/search/?q=: the hits, each linked to its admin page; one exact hit opens it."""
    from django.contrib import admin
    from django.shortcuts import redirect, render

    term = request.GET.get("q", "")
    hits = search(term, user=request.user)
    exact = [hit for hit in hits if hit.exact]
    if len(exact) == 1 and request.GET.get("open") != "0":
        return redirect(exact[0].url)
    context = {
        **admin.site.each_context(request),
        "title": "搜索",
        "term": term.strip(),
        "exact": exact,
        "starting": [hit for hit in hits if not hit.exact],
        "limit": LIMIT,
    }
    return render(request, "admin/search.html", context)
