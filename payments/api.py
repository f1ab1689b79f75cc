"""`/api/payment/...`: thin DRF views over `payments.services` and `payments.selectors`."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny, IsAdminUser, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from vipplatform.api import PaymentErrorSerializer, SpringPagination, error_responses
from vipplatform.exceptions import NotFound
from vipplatform.permissions import IsOwnerOrStaff, require_self_or_staff
from vipplatform.throttling import OrderCreateThrottle, RefusedNotificationThrottle

from . import notifications, selectors, services
from .cache import cache_key, order_status_get
from .serializers import (
    CallbackInput,
    CallbackOutput,
    CancelExpiredOutput,
    GenerateQrCodeInput,
    GenerateQrCodeOutput,
    OrderResponse,
    OrderSearchInput,
    OrderStatisticsOutput,
    OrderStatusOutput,
)

_errors = error_responses(
    PaymentErrorSerializer,
    {
        400: "请求参数无效",
        401: "未登录或签名无效",
        403: "无权访问",
        404: "订单不存在",
        409: "订单状态冲突",
        413: "回调请求体过大（不保存）",
        429: "请求过于频繁",
    },
)


def _buyer(request, user_id: int):
    """Who an order is for: the requester (no query), or for staff any existing user."""
    if user_id == request.user.pk:
        return request.user
    if not request.user.is_staff:
        raise PermissionDenied("不能为其他用户创建订单")
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound("用户不存在", field="userId")
    return user


class GenerateQrCodeView(APIView):
    throttle_classes = [OrderCreateThrottle]

    @extend_schema(
        summary="创建订单并生成支付二维码",
        request=GenerateQrCodeInput,
        responses={200: GenerateQrCodeOutput, **_errors(400, 401, 403, 404, 429)},
    )
    def post(self, request):
        params = GenerateQrCodeInput(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        order = services.order_create(
            user=_buyer(request, data["userId"]),
            plan_id=data["planId"],
            amount=data["amount"],
            payment_method=data["paymentMethod"],
        )
        return Response(GenerateQrCodeOutput(order).data)


class OrderStatusView(APIView):
    permission_classes = [IsAuthenticated, IsOwnerOrStaff]

    @staticmethod
    def cache_reads(order_number: str) -> list[str]:
        """What `vipplatform.middleware.CacheReadAheadMiddleware` fetches with the session."""
        return [cache_key(order_number)]

    @extend_schema(
        summary="查询订单支付状态",
        responses={200: OrderStatusOutput, **_errors(401, 403, 404)},
    )
    def get(self, request, order_number: str):
        order = order_status_get(order_number)  # cached when READ_CACHE is on
        self.check_object_permissions(request, order)
        return Response(OrderStatusOutput(order).data)


class PaymentCallbackView(APIView):
    """The gateway's notification. Authenticated by its signature, not by a session, so it
    carries no CSRF token."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="支付网关回调",
        request=CallbackInput,
        responses={200: CallbackOutput, **_errors(400, 401, 404, 413)},
    )
    def post(self, request):
        refusals = RefusedNotificationThrottle()
        notification = notifications.notification_receive(
            body=request.body,
            headers=request.headers,
            remote_addr=request.META.get("REMOTE_ADDR"),
            may_record_refusal=lambda: refusals.allow_request(request, self),
        )
        order, _ = notifications.notification_process(notification, body=request.body)
        return Response({"orderId": order.order_number, "status": order.status})


class UserOrdersView(ListAPIView):
    serializer_class = OrderResponse
    pagination_class = SpringPagination

    @extend_schema(
        summary="用户的订单（最新在前）",
        responses={200: OrderResponse(many=True), **_errors(400, 401, 403)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        user_id = self.kwargs["user_id"]
        require_self_or_staff(self.request, user_id)
        return selectors.order_list_for_user(user_id=user_id)


class OrderSearchView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        summary="订单搜索（管理员）",
        request=OrderSearchInput,
        responses={200: OrderResponse(many=True), **_errors(400, 401, 403)},
    )
    def post(self, request):
        params = OrderSearchInput(data=request.data)
        params.is_valid(raise_exception=True)
        paginator = SpringPagination()
        page = paginator.paginate(
            selectors.order_search(**params.filters(), ordering=params.ordering()),
            page=params.validated_data["page"],
            size=params.validated_data["size"],
        )
        return paginator.get_paginated_response(OrderResponse(page, many=True).data)


class OrderDetailView(APIView):
    """One order, by row id (`/orders/{id}`) or by number (`/orders/by-number/{orderNumber}`)."""

    permission_classes = [IsAuthenticated, IsOwnerOrStaff]

    @extend_schema(summary="订单详情", responses={200: OrderResponse, **_errors(401, 403, 404)})
    def get(self, request, pk: int | None = None, order_number: str | None = None):
        order = selectors.order_get(pk=pk, order_number=order_number)
        self.check_object_permissions(request, order)
        return Response(OrderResponse(order).data)


class OrderCancelView(APIView):
    permission_classes = [IsAuthenticated, IsOwnerOrStaff]

    @extend_schema(
        summary="取消待支付订单",
        request=None,
        responses={200: OrderResponse, **_errors(401, 403, 404, 409)},
    )
    def put(self, request, pk: int):
        self.check_object_permissions(request, selectors.order_get(pk=pk))
        return Response(OrderResponse(services.order_cancel(order_id=pk)).data)


class OrderStatisticsView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        summary="订单统计（管理员）", responses={200: OrderStatisticsOutput, **_errors(401, 403)}
    )
    def get(self, request):
        return Response(OrderStatisticsOutput(selectors.order_statistics()).data)


class CancelExpiredView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        summary="将超时未支付的订单标记为已过期（管理员）",
        request=None,
        responses={200: CancelExpiredOutput, **_errors(401, 403)},
    )
    def post(self, request):
        return Response({"expired": services.order_expire_overdue()})
