"""Floors: how fast a path could be at best on this stack, served next to the real paths when
the benchmark runs with `--floors` (settings `bench.settings`; never in the platform).

- `/floor/drf`: a DRF view with no authentication, no permission and no serializer: what
  DRF's request handling alone costs over `/healthz`.
- `/floor/redis`: `/healthz` plus one cache read of three entries (one MGET): what a single
  round trip to Redis costs, which any read of shared state (a session, an order) pays.
- `/floor/status`: the order-status read with nothing but what it cannot do without, in a plain
  Django view: the session and its user (through Django's middleware) and the order's cached
  status, read ahead from Redis in one round trip as the platform does, a JSON body. No DRF, no
  serializer, no permission class.
- `/floor/search`: the staff search by user with nothing but what it cannot do without, in a
  plain Django view: the session and its user, Django's CSRF check, the body read with
  `json.loads`, the same two statements through the ORM (the count and the page of ten), and
  the ten orders written out by hand. No DRF, no serializer, no validation beyond `int()`.
"""

import json

from django.core.cache import cache
from django.http import JsonResponse
from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from payments import status_cache
from payments.models import PaymentMethod, VipOrder


class DrfFloor(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"status": "ok"})


def redis_floor(request) -> JsonResponse:
    cache.get_many(["floor:1", "floor:2", "floor:3"])
    return JsonResponse({"status": "ok"})


def status_floor(request, order_number: str) -> JsonResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"error": "unauthorized"}, status=401)
    order = status_cache.order_status(order_number)
    if order is None or order.user_id != request.user.pk:
        return JsonResponse({"error": "not found"}, status=404)
    return JsonResponse(
        {"orderId": order.order_number, "status": order.effective_status(), "amount": order.amount}
    )


def search_floor(request) -> JsonResponse:
    if not request.user.is_staff:
        return JsonResponse({"error": "forbidden"}, status=403)
    body = json.loads(request.body)
    size = int(body.get("size", 10))
    orders = VipOrder.objects.filter(user_id=int(body["userId"])).order_by("-create_time", "-id")
    total = orders.count()
    page = [
        {
            "id": o.pk,
            "userId": o.user_id,
            "orderNumber": o.order_number,
            "vipType": o.plan_id,
            "vipTypeName": o.plan_name,
            "amount": o.amount,
            "paymentMethod": o.payment_method,
            "paymentMethodName": PaymentMethod(o.payment_method).label,
            "status": o.effective_status(),
            "statusName": o.get_effective_status_display(),
            "createTime": o.create_time,
            "payTime": o.pay_time,
            "expireTime": o.expire_time,
            "qrCodeUrl": o.qr_code_url,
        }
        for o in orders[:size]
    ]
    return JsonResponse({"content": page, "totalElements": total, "size": size})


urlpatterns = [
    path("floor/drf", DrfFloor.as_view()),
    path("floor/redis", redis_floor),
    path("floor/status/<str:order_number>", status_floor, name="floor-status"),
    path("floor/search", search_floor),
    path("", include("config.urls")),
]
handler404 = "vipplatform.views.page_not_found"
handler500 = "vipplatform.views.server_error"
