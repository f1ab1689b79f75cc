"""The order-management paths: search, detail, cancel, statistics, cancel-expired."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from payments.models import OrderStatus, PaymentMethod, VipOrder
from payments.totals import totals_refresh

from ..factories import UserFactory, VipOrderFactory

pytestmark = pytest.mark.django_db

PAGE_KEYS = {
    "content",
    "totalElements",
    "totalPages",
    "number",
    "size",
    "numberOfElements",
    "first",
    "last",
    "empty",
}


def search(client, **body):
    return client.post("/api/payment/orders/search", body, format="json")


def numbers(response) -> list[str]:
    return [order["orderNumber"] for order in response.json()["content"]]


def overdue_order(**kwargs):
    created = timezone.now() - timedelta(hours=1)
    return VipOrderFactory(
        create_time=created, expire_time=created + timedelta(minutes=30), **kwargs
    )


@pytest.fixture
def orders(plans):
    """Five orders of two users, created a day apart (oldest first)."""
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    now = timezone.now()
    specs = [
        (alice, 1, PaymentMethod.WECHAT, OrderStatus.PAID),
        (alice, 2, PaymentMethod.ALIPAY, OrderStatus.CANCELLED),
        (bob, 3, PaymentMethod.BANK_CARD, OrderStatus.PAID),
        (bob, 1, PaymentMethod.ALIPAY, OrderStatus.EXPIRED),
        (bob, 2, PaymentMethod.WECHAT, OrderStatus.PENDING),
    ]
    made = []
    for days_ago, (user, plan, method, status) in zip(range(5, 0, -1), specs, strict=True):
        created = now - timedelta(days=days_ago)
        made.append(
            VipOrderFactory(
                user=user,
                plan=plans[plan],
                amount=plans[plan].price,
                payment_method=method,
                status=status,
                create_time=created,
                expire_time=created + timedelta(days=30),  # the pending one is still payable
                pay_time=created + timedelta(minutes=1) if status == OrderStatus.PAID else None,
            )
        )
    return made


class TestSearch:
    def test_answers_a_page_newest_first(self, staff_api, orders):
        response = search(staff_api)
        assert response.status_code == HTTPStatus.OK
        body = response.json()
        assert set(body) == PAGE_KEYS
        assert numbers(response) == [o.order_number for o in reversed(orders)]
        assert (body["totalElements"], body["totalPages"], body["number"], body["size"]) == (
            5,
            1,
            0,
            10,
        )
        assert (body["first"], body["last"], body["empty"]) == (True, True, False)
        assert set(body["content"][0]) == {
            "id", "userId", "orderNumber", "vipType", "vipTypeName", "amount", "paymentMethod",
            "paymentMethodName", "status", "statusName", "createTime", "payTime", "expireTime",
            "qrCodeUrl", "refundedAmount",  # the last one added: what went back
        }  # fmt: skip

    def test_pages_count_from_zero(self, staff_api, orders):
        second = search(staff_api, page=1, size=2).json()
        assert [o["orderNumber"] for o in second["content"]] == [
            orders[2].order_number,
            orders[1].order_number,
        ]
        assert (second["totalPages"], second["first"], second["last"]) == (3, False, False)
        last = search(staff_api, page=2, size=2).json()
        assert (last["numberOfElements"], last["totalElements"], last["last"]) == (1, 5, True)
        beyond = search(staff_api, page=9, size=2).json()
        assert (beyond["content"], beyond["empty"], beyond["totalElements"]) == ([], True, 5)

    def test_size_is_capped_at_100(self, staff_api, orders):
        assert search(staff_api, size=1000).json()["size"] == 100

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            ({"vipType": 1}, [0, 3]),
            ({"paymentMethod": 1}, [1, 3]),
            ({"status": OrderStatus.PAID}, [0, 2]),
            ({"status": OrderStatus.CANCELLED}, [1]),
            ({"status": OrderStatus.PENDING}, [4]),
            ({"status": OrderStatus.EXPIRED}, [3]),
            ({"vipType": 2, "paymentMethod": 0}, [4]),
        ],
    )
    def test_filters(self, staff_api, orders, body, expected):
        response = search(staff_api, **body, sortDirection="ASC")
        assert numbers(response) == [orders[i].order_number for i in expected]

    def test_filter_by_user(self, staff_api, orders):
        response = search(staff_api, userId=orders[0].user_id, sortDirection="ASC")
        assert numbers(response) == [orders[0].order_number, orders[1].order_number]

    def test_filter_by_order_number_or_its_start(self, staff_api, orders):
        number = orders[2].order_number
        assert numbers(search(staff_api, orderNumber=number)) == [number]
        assert numbers(search(staff_api, orderNumber=number[:-3])) == [number]
        # Not a substring: over a million orders it is a scan (0.7 s for the index alone).
        assert numbers(search(staff_api, orderNumber=number[-10:-3])) == []

    def test_filter_by_creation_time_read_in_the_site_time_zone(self, staff_api, orders):
        start = timezone.localtime(orders[1].create_time).replace(tzinfo=None)
        end = timezone.localtime(orders[3].create_time).replace(tzinfo=None)
        response = search(
            staff_api, startTime=start.isoformat(), endTime=end.isoformat(), sortDirection="ASC"
        )
        assert numbers(response) == [o.order_number for o in orders[1:4]]

    def test_status_expired_includes_pending_orders_past_their_deadline(self, staff_api, plans):
        late = overdue_order()
        assert numbers(search(staff_api, status=OrderStatus.EXPIRED)) == [late.order_number]
        assert numbers(search(staff_api, status=OrderStatus.PENDING)) == []

    @pytest.mark.parametrize(
        ("sort_by", "key"),
        [
            ("createTime", lambda o: o.create_time),
            ("amount", lambda o: (o.amount, o.pk)),
            ("id", lambda o: o.pk),
        ],
    )
    @pytest.mark.parametrize("direction", ["ASC", "DESC"])
    def test_sorting(self, staff_api, orders, sort_by, key, direction):
        response = search(staff_api, sortBy=sort_by, sortDirection=direction)
        expected = sorted(orders, key=key, reverse=direction == "DESC")
        assert numbers(response) == [o.order_number for o in expected]

    def test_sorting_by_pay_time(self, staff_api, orders):
        paid = search(staff_api, sortBy="payTime", sortDirection="DESC", status=1)
        assert numbers(paid) == [orders[2].order_number, orders[0].order_number]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"sortBy": "password"}, "sortBy"),
            ({"sortDirection": "UP"}, "sortDirection"),
            ({"status": 9}, "status"),
            ({"page": -1}, "page"),
            ({"size": 0}, "size"),
            ({"startTime": "yesterday"}, "startTime"),
            ({"userId": "abc"}, "userId"),
        ],
    )
    def test_bad_input_is_400(self, staff_api, orders, body, field):
        response = search(staff_api, **body)
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert field in response.json()["fields"]

    def test_is_for_staff_only(self, api, orders):
        assert search(api).status_code == HTTPStatus.FORBIDDEN
        assert search(APIClient()).status_code == HTTPStatus.UNAUTHORIZED


class TestDetail:
    def test_by_id_and_by_number_for_the_owner(self, client_for, orders):
        owner = client_for(orders[0].user)
        by_id = owner.get(f"/api/payment/orders/{orders[0].pk}")
        by_number = owner.get(f"/api/payment/orders/by-number/{orders[0].order_number}")
        assert by_id.status_code == by_number.status_code == HTTPStatus.OK
        assert by_id.json() == by_number.json()
        assert by_id.json()["vipTypeName"] == "月度会员"
        assert by_id.json()["paymentMethodName"] == "微信支付"
        assert by_id.json()["statusName"] == "已支付"

    def test_times_are_shown_in_the_site_time_zone(self, client_for, plans):
        paid = datetime(2026, 11, 26, 16, 30, 5, tzinfo=UTC)
        order = VipOrderFactory(create_time=paid, pay_time=paid, status=OrderStatus.PAID)
        body = client_for(order.user).get(f"/api/payment/orders/{order.pk}").json()
        # Asia/Shanghai (the settings' TIME_ZONE) is UTC+8
        assert body["createTime"] == body["payTime"] == "2026-11-27T00:30:05+08:00"
        assert body["expireTime"] == "2026-11-27T01:00:05+08:00"

    def test_another_users_order_is_not_found(self, client_for, orders):
        other = client_for(orders[2].user)
        assert other.get(f"/api/payment/orders/{orders[0].pk}").status_code == 404
        path = f"/api/payment/orders/by-number/{orders[0].order_number}"
        assert other.get(path).status_code == HTTPStatus.NOT_FOUND

    def test_staff_read_any_and_unknown_is_404(self, staff_api, orders):
        assert staff_api.get(f"/api/payment/orders/{orders[0].pk}").status_code == 200
        assert staff_api.get("/api/payment/orders/999999").status_code == HTTPStatus.NOT_FOUND
        assert staff_api.get("/api/payment/orders/by-number/x").status_code == 404


class TestCancel:
    def test_the_owner_cancels_a_pending_order(self, client_for, orders):
        pending = orders[4]
        response = client_for(pending.user).put(f"/api/payment/orders/{pending.pk}/cancel")
        assert response.status_code == HTTPStatus.OK
        assert response.json()["status"] == OrderStatus.CANCELLED
        pending.refresh_from_db()
        assert pending.status == OrderStatus.CANCELLED

    @pytest.mark.parametrize("index", [0, 1, 3])
    def test_anything_but_pending_is_409(self, staff_api, orders, index):
        response = staff_api.put(f"/api/payment/orders/{orders[index].pk}/cancel")
        assert response.status_code == HTTPStatus.CONFLICT
        assert response.json()["error"] == "订单不是待支付状态"
        before = orders[index].status
        orders[index].refresh_from_db()
        assert orders[index].status == before

    def test_an_order_past_its_deadline_is_409(self, api, user, plans):
        late = overdue_order(user=user)
        assert api.put(f"/api/payment/orders/{late.pk}/cancel").status_code == 409

    def test_another_user_cannot_cancel(self, client_for, orders):
        other = client_for(orders[0].user)
        response = other.put(f"/api/payment/orders/{orders[4].pk}/cancel")
        assert response.status_code == HTTPStatus.NOT_FOUND
        orders[4].refresh_from_db()
        assert orders[4].status == OrderStatus.PENDING


class TestStatistics:
    def test_counts_and_sums(self, staff_api, orders, plans):
        overdue_order()
        stats = staff_api.get("/api/payment/orders/statistics").json()
        assert stats == {
            "totalOrders": 6,
            "pendingOrders": 1,
            "paidOrders": 2,
            "cancelledOrders": 1,
            "expiredOrders": 2,
            "totalAmount": float(Decimal("29.90") * 3 + Decimal("88.00") * 2 + Decimal("328.00")),
            "paidAmount": float(Decimal("29.90") + Decimal("328.00")),
            "paymentRate": 33.33,
            "wechatOrders": 3,
            "alipayOrders": 2,
            "bankCardOrders": 1,
            "monthlyOrders": 3,
            "quarterlyOrders": 2,
            "yearlyOrders": 1,
            "refundedOrders": 0,
            "refundedAmount": 0.0,
            "netAmount": float(Decimal("29.90") + Decimal("328.00")),
            "paidAfterCloseOrders": 0,
        }

    def test_with_no_orders(self, staff_api, plans):
        stats = staff_api.get("/api/payment/orders/statistics").json()
        assert (stats["totalOrders"], stats["totalAmount"], stats["paymentRate"]) == (0, 0, 0)

    def test_costs_the_same_queries_for_any_number_of_orders(
        self, staff_api, plans, django_assert_num_queries
    ):
        VipOrderFactory.create_batch(3, create_time=timezone.now() - timedelta(days=2))
        totals_refresh()
        # session, user, the staff right (user and group permissions); the days counted, the
        # totals' sums, the uncounted orders' sums, the orders open for payment
        with django_assert_num_queries(8) as few:
            staff_api.get("/api/payment/orders/statistics")
        VipOrderFactory.create_batch(30)
        VipOrderFactory.create_batch(30, create_time=timezone.now() - timedelta(days=5))
        totals_refresh(everything=True)
        with django_assert_num_queries(len(few.captured_queries)):
            staff_api.get("/api/payment/orders/statistics")

    def test_is_for_staff_only(self, api):
        assert api.get("/api/payment/orders/statistics").status_code == HTTPStatus.FORBIDDEN


class TestCancelExpired:
    def test_expires_pending_orders_past_their_deadline(self, staff_api, orders, plans):
        late = [overdue_order() for _ in range(3)]
        response = staff_api.post("/api/payment/orders/cancel-expired")
        assert response.json() == {"expired": 3}
        assert set(
            VipOrder.objects.filter(status=OrderStatus.EXPIRED).values_list("pk", flat=True)
        ) == {orders[3].pk, *(o.pk for o in late)}
        orders[4].refresh_from_db()
        assert orders[4].status == OrderStatus.PENDING
        assert staff_api.post("/api/payment/orders/cancel-expired").json() == {"expired": 0}

    def test_is_for_staff_only(self, api):
        assert api.post("/api/payment/orders/cancel-expired").status_code == 403
