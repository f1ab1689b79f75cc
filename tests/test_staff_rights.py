"""Staff rights are the admin's Django permissions: every staff path of the API × a superuser,
staff holding the right (granted through a group, as the admin grants it) and staff without it.
Being staff lets an account into the admin, nothing more."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone

from payments.models import OrderStatus, VipOrder
from users.models import User
from vipplatform import permissions

from .factories import StaffFactory, UserFactory, VipOrderFactory
from .helpers import envelope_error

pytestmark = pytest.mark.django_db

LATER = (timezone.now() + timedelta(days=400)).replace(microsecond=0)


def _vip_body():
    return {"vipType": 1, "vipExpireTime": LATER.isoformat()}


# (name, right, method, path, body, what the path did when allowed)
def _changed_vip(member, order):
    member.refresh_from_db()
    return member.vip_expire_time == LATER


def _revoked_vip(member, order):
    member.refresh_from_db()
    return member.is_vip is False


def _deleted(member, order):
    member = User.objects.filter(pk=member.pk).first()
    return member is None or not member.is_active


def _order_cancelled(member, order):
    order.refresh_from_db()
    return order.status == OrderStatus.CANCELLED


def _order_expired(member, order):
    order.refresh_from_db()
    return order.status == OrderStatus.EXPIRED


def _order_made_for_member(member, order):
    return VipOrder.objects.filter(user=member).count() == 2


def _nothing(member, order):
    return True


STAFF_PATHS = [
    ("users.list", permissions.VIEW_USERS, "get", "/api/users/list", None, _nothing),
    (
        "users.search",
        permissions.VIEW_USERS,
        "get",
        "/api/users/search?keyword=member",
        None,
        _nothing,
    ),
    ("users.delete", permissions.DELETE_USERS, "delete", "/api/users/{user}", None, _deleted),
    (
        "users.vip.put",
        permissions.CHANGE_MEMBERSHIPS,
        "put",
        "/api/users/{user}/vip",
        _vip_body,
        _changed_vip,
    ),
    (
        "users.vip.params",
        permissions.CHANGE_MEMBERSHIPS,
        "put",
        "/api/users/{user}/vip/params?vipType=1&vipExpireTime={later}",
        None,
        _changed_vip,
    ),
    (
        "users.vip.delete",
        permissions.CHANGE_MEMBERSHIPS,
        "delete",
        "/api/users/{user}/vip",
        None,
        _revoked_vip,
    ),
    (
        "orders.search",
        permissions.VIEW_ORDERS,
        "post",
        "/api/payment/orders/search",
        lambda: {"page": 0, "size": 10},
        _nothing,
    ),
    (
        "orders.statistics",
        permissions.VIEW_ORDERS,
        "get",
        "/api/payment/orders/statistics",
        None,
        _nothing,
    ),
    (
        "orders.cancel-expired",
        permissions.CHANGE_ORDERS,
        "post",
        "/api/payment/orders/cancel-expired",
        None,
        _order_expired,
    ),
]

# Paths about one member's orders: staff without the right are any other user there, to whom
# another's order "does not exist" (a 403 would tell which do).
OWNER_OR_STAFF_PATHS = [
    ("orders.status", permissions.VIEW_ORDERS, "get", "/api/payment/status/{number}", None),
    ("orders.detail", permissions.VIEW_ORDERS, "get", "/api/payment/orders/{order}", None),
    (
        "orders.by-number",
        permissions.VIEW_ORDERS,
        "get",
        "/api/payment/orders/by-number/{number}",
        None,
    ),
    ("orders.of-user", permissions.VIEW_ORDERS, "get", "/api/payment/users/{user}/orders", None),
    ("orders.cancel", permissions.CHANGE_ORDERS, "put", "/api/payment/orders/{order}/cancel", None),
]

WHO = ["superuser", "with_right", "without_right"]


@pytest.fixture
def member(plans):
    return UserFactory(username="member1")


@pytest.fixture
def members_order(member):
    return VipOrderFactory(user=member)


@pytest.fixture
def overdue_order(member):
    past = timezone.now() - timedelta(hours=2)
    return VipOrderFactory(user=member, create_time=past, expire_time=past)


def _account(who: str, right):
    if who == "superuser":
        return StaffFactory(is_superuser=True, rights=())
    if who == "with_right":
        return StaffFactory(rights=[right[0]])
    return StaffFactory(rights=())


def _request(client, method, path, body):
    return getattr(client, method)(path, body() if body else None, format="json")


def _format(path, member, order):
    return path.format(
        user=member.pk,
        order=order.pk,
        number=order.order_number,
        later=timezone.localtime(LATER).strftime("%Y-%m-%dT%H:%M:%S"),
    )


def _allowed(response) -> bool:
    if (
        response["Content-Type"].startswith("application/json")
        and "/api/users/" in (response.request["PATH_INFO"])
    ):
        return response.json()["code"] == HTTPStatus.OK
    return response.status_code == HTTPStatus.OK


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize(
    ("name", "right", "method", "path", "body", "effect"),
    STAFF_PATHS,
    ids=[row[0] for row in STAFF_PATHS],
)
def test_staff_paths_need_the_admins_permission(
    client_for, member, overdue_order, who, name, right, method, path, body, effect
):
    account = _account(who, right)
    response = _request(client_for(account), method, _format(path, member, overdue_order), body)
    if who == "without_right":
        if path.startswith("/api/users/"):
            assert envelope_error(response) == (HTTPStatus.FORBIDDEN, "禁止访问")
        else:
            assert response.status_code == HTTPStatus.FORBIDDEN, response.content
        member.refresh_from_db()
        assert (member.is_vip, member.is_active) == (False, True)
        overdue_order.refresh_from_db()
        assert overdue_order.status == OrderStatus.PENDING
    else:
        assert _allowed(response), response.content
        assert effect(member, overdue_order)


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize(
    ("name", "right", "method", "path", "body"),
    OWNER_OR_STAFF_PATHS,
    ids=[row[0] for row in OWNER_OR_STAFF_PATHS],
)
def test_another_members_orders_need_the_admins_permission(
    client_for, member, members_order, who, name, right, method, path, body
):
    account = _account(who, right)
    response = _request(client_for(account), method, _format(path, member, members_order), body)
    if who == "without_right":
        assert response.status_code == HTTPStatus.NOT_FOUND, response.content
        members_order.refresh_from_db()
        assert members_order.status == OrderStatus.PENDING
    else:
        assert response.status_code == HTTPStatus.OK, response.content


@pytest.mark.parametrize("who", WHO)
def test_ordering_for_another_member_needs_the_right_to_add_orders(client_for, member, who):
    account = _account(who, permissions.CREATE_ORDERS)
    response = client_for(account).post(
        "/api/payment/generate-qrcode",
        {"userId": member.pk, "planId": 1, "amount": "29.90", "paymentMethod": 0},
        format="json",
    )
    made = VipOrder.objects.filter(user=member).exists()
    if who == "without_right":
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert not made
    else:
        assert response.status_code == HTTPStatus.OK, response.content
        assert made


def test_a_staff_account_without_rights_found_by_the_probe(client_for, member):
    """The probe's requests: a staff account the admin refuses everywhere set a member's VIP to
    2031 and read the user list (emails, phones), the order search and the statistics."""
    client = client_for(StaffFactory(rights=()))
    assert client.get("/admin/users/user/").status_code == HTTPStatus.FORBIDDEN
    answer = client.put(
        f"/api/users/{member.pk}/vip",
        {"vipType": 1, "vipExpireTime": "2031-01-01T00:00:00"},
        format="json",
    )
    assert envelope_error(answer) == (HTTPStatus.FORBIDDEN, "禁止访问")
    member.refresh_from_db()
    assert member.vip_expire_time is None
    listed = client.get("/api/users/list")
    assert envelope_error(listed) == (HTTPStatus.FORBIDDEN, "禁止访问")
    assert member.email not in listed.content.decode()
    assert client.post("/api/payment/orders/search", {}, format="json").status_code == 403
    assert client.get("/api/payment/orders/statistics").status_code == 403


def test_the_browsable_api_refuses_the_same(client_for, member):
    client = client_for(StaffFactory(rights=()))
    page = client.get("/api/users/list", HTTP_ACCEPT="text/html")
    assert page.status_code == HTTPStatus.OK  # the envelope's protocol: the code is in the body
    text = page.content.decode()
    assert "&quot;code&quot;: 403" in text
    assert member.email not in text
    assert client.get("/api/payment/orders/statistics", HTTP_ACCEPT="text/html").status_code == 403


def test_a_right_taken_away_in_the_admin_is_gone_at_the_next_request(client_for, member):
    staff = StaffFactory(rights=[permissions.VIEW_USERS[0]])
    client = client_for(staff)
    assert client.get("/api/users/list").json()["code"] == HTTPStatus.OK
    staff.groups.clear()
    assert envelope_error(client.get("/api/users/list")) == (HTTPStatus.FORBIDDEN, "禁止访问")


def test_the_schema_names_the_right_each_staff_operation_needs(anon):
    schema = anon.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    search = schema["paths"]["/api/payment/orders/search"]["post"]
    assert "payments.view_viporder" in search["description"]
    assert "403" in search["responses"]
    vip = schema["paths"]["/api/users/{user_id}/vip"]["put"]
    assert "users.change_user" in vip["description"]


def test_other_members_read_a_public_profile_only(client_for, member):
    """The comment list asks `GET /api/users/{authorId}` for every author."""
    member.phone = "13800138000"
    member.save()
    reader = client_for(UserFactory())
    body = reader.get(f"/api/users/{member.pk}").json()
    assert body["code"] == HTTPStatus.OK
    assert body["data"] == {
        "id": member.pk,
        "username": member.username,
        "avatar": member.avatar,
        "isVip": 0,
    }
    assert envelope_error(reader.get("/api/users/999999")) == (404, "用户不存在")
    # Staff without the right to view users are any other reader; with it, the whole record.
    no_right = client_for(StaffFactory(rights=()))
    assert set(no_right.get(f"/api/users/{member.pk}").json()["data"]) == {
        "id",
        "username",
        "avatar",
        "isVip",
    }
    with_right = client_for(StaffFactory(rights=[permissions.VIEW_USERS[0]]))
    assert with_right.get(f"/api/users/{member.pk}").json()["data"]["phone"] == "13800138000"
    own = client_for(member).get(f"/api/users/{member.pk}").json()["data"]
    assert own["email"] == member.email
