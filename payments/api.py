"""`/api/payment/...`: thin DRF views over `payments.services` and `payments.selectors`."""

from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.utils.cache import patch_cache_control
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from vipplatform.api import (
    BrowsableInput,
    PaymentErrorSerializer,
    SpringPagination,
    error_responses,
)
from vipplatform.exceptions import NotFound
from vipplatform.permissions import (
    CHANGE_ORDERS,
    CREATE_ORDERS,
    REFUND_ORDERS,
    VIEW_ORDERS,
    IsOwnerOrStaff,
    has_staff_right,
    require_self_or,
    staff_right,
)
from vipplatform.throttling import OrderCreateThrottle, RefusedNotificationThrottle

from . import links, notifications, refunds, selectors, services, status_cache
from .exceptions import OrderNotFound
from .gateways import callback_provider
from .qrcode import qr_code_svg
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
    PlanOutput,
    RefundInput,
    RefundOutput,
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
    """Who an order is for: the requester (no query), or any existing user for staff who may
    add orders."""
    if user_id == request.user.pk:
        return request.user
    if not has_staff_right(request.user, CREATE_ORDERS):
        raise PermissionDenied("不能为其他用户创建订单")
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound("用户不存在", field="user_id")
    return user


class GenerateQrCodeView(BrowsableInput, APIView):
    """创建一个待支付订单并返回支付二维码。

    `amount` 必须等于所选套餐的现价（见 `GET /api/payment/plans`），否则返回 400；
    普通用户只能为自己下单（`userId` 为自己的ID），管理员可以为任何用户下单。
    订单在 30 分钟内未支付即过期。
    """

    name = "创建订单（支付二维码）"  # its title in the browsable API

    input_serializer = GenerateQrCodeInput
    throttle_classes = [OrderCreateThrottle]

    @extend_schema(
        summary="创建订单并生成支付二维码",
        request=GenerateQrCodeInput,
        responses={200: GenerateQrCodeOutput, **_errors(400, 401, 403, 404, 429)},
        examples=[
            OpenApiExample(
                "季度会员，支付宝",
                value={"userId": 1, "planId": 2, "amount": 88.00, "paymentMethod": 1},
                request_only=True,
            ),
            OpenApiExample(
                "订单已创建",
                value={
                    "orderId": "20261126143005a1b2c3d4e5f60718",
                    "qrCodeUrl": "https://vip.example.com/api/payment/qrcode/"
                    "20261126143005a1b2c3d4e5f60718.svg",
                    "amount": 88.00,
                    "expireTime": "2026-11-26T15:00:05+08:00",
                },
                response_only=True,
            ),
        ],
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


class PlansView(APIView):
    """在售的会员套餐：下单时的 `planId` 和必须一致的价格。"""

    name = "在售套餐"  # its title in the browsable API

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(summary="在售套餐", responses={200: PlanOutput(many=True)})
    def get(self, request):
        return Response(PlanOutput(selectors.plans_for_sale(), many=True).data)


class QrCodeView(APIView):
    """订单的支付二维码（SVG 图片，可直接放进 `<img src>`），编码的是支付链接。
    须带下单时返回的 `qrCodeUrl` 中的令牌 `t`（扫码即可付款，不需登录），或以下单用户
    （或有“查看VIP订单”权限的管理员）身份登录；只知道订单号得到 404。"""

    name = "支付二维码图片"  # its title in the browsable API

    permission_classes = [AllowAny]

    @extend_schema(
        summary="支付二维码图片",
        parameters=[
            OpenApiParameter(links.TOKEN_PARAMETER, str, description="订单链接令牌（见 qrCodeUrl）")
        ],
        responses={
            (200, "image/svg+xml"): OpenApiResponse(OpenApiTypes.BINARY, description="SVG"),
            **_errors(404),
        },
    )
    def get(self, request, order_number: str):
        order = selectors.order_get(order_number=order_number)
        if not (links.may_pay(request, order) or has_staff_right(request.user, VIEW_ORDERS)):
            raise OrderNotFound()  # as a missing one: a 403 would tell which exist
        svg = qr_code_svg(order.payment_code or callback_provider().create_payment(order))
        response = HttpResponse(svg, content_type="image/svg+xml")
        patch_cache_control(response, private=True, max_age=3600)
        return response


class OrderStatusView(APIView):
    """订单的支付状态（前端每两秒轮询一次）。待支付订单超过截止时间即显示为已过期（3）。"""

    name = "订单支付状态"  # its title in the browsable API

    permission_classes = [IsAuthenticated, IsOwnerOrStaff]

    @extend_schema(
        summary="查询订单支付状态",
        responses={200: OrderStatusOutput, **_errors(401, 403, 404)},
    )
    def get(self, request, order_number: str):
        order = status_cache.order_status(order_number)
        if order is None:
            raise OrderNotFound()
        self.check_object_permissions(request, order)
        return Response(OrderStatusOutput(order).data)


class PaymentCallbackView(APIView):
    """支付网关的异步通知。

    配置了回调密钥时，请求须带 `X-Pay-Timestamp`（Unix 秒）和 `X-Pay-Signature`
    （HMAC-SHA256(密钥, "时间戳.原始请求体") 的小写十六进制），否则返回 401。
    重复通知不会重复开通；金额与订单不符返回 400。
    """

    name = "支付回调"  # its title in the browsable API

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="支付网关回调",
        request=CallbackInput,
        examples=[
            OpenApiExample(
                "支付成功",
                value={
                    "orderId": "20261126143005a1b2c3d4e5f60718",
                    "status": "SUCCESS",
                    "amount": 88.00,
                    "transactionId": "4200002345202611261234567890",
                },
                request_only=True,
            )
        ],
        responses={200: CallbackOutput, **_errors(400, 401, 404, 413)},
    )
    def post(self, request):
        refusals = RefusedNotificationThrottle()
        order, _ = notifications.notification_handle(
            callback_provider(),
            body=request.body,
            headers=request.headers,
            remote_addr=request.META.get("REMOTE_ADDR"),
            may_record_refusal=lambda: refusals.allow_request(request, self),
        )
        return Response({"orderId": order.order_number, "status": order.status})


class UserOrdersView(ListAPIView):
    """一个用户的订单，最新的在前，分页（`page` 从 0 开始，`size` 最多 100）。"""

    name = "用户的订单"  # its title in the browsable API

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
        require_self_or(self.request, user_id, VIEW_ORDERS, missing="用户不存在")
        return selectors.order_list_for_user(user_id=user_id)


class OrderSearchView(BrowsableInput, APIView):
    """按条件搜索订单（需要“查看VIP订单”权限）。所有条件都可选，同时生效；状态按用户看到的
    状态筛选。"""

    name = "订单搜索"  # its title in the browsable API

    input_serializer = OrderSearchInput
    permission_classes = [staff_right(VIEW_ORDERS)]

    @extend_schema(
        summary="订单搜索（管理员）",
        request=OrderSearchInput,
        examples=[
            OpenApiExample(
                "本月已支付的订单，金额从高到低",
                value={
                    "status": 1,
                    "startTime": "2026-12-01T00:00:00",
                    "page": 0,
                    "size": 10,
                    "sortBy": "amount",
                    "sortDirection": "DESC",
                },
                request_only=True,
            ),
            OpenApiExample(
                "按订单号开头查找", value={"orderNumber": "20261204"}, request_only=True
            ),
        ],
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
    """一个订单：按ID（`/orders/{id}`）或订单号（`/orders/by-number/{orderNumber}`）。"""

    name = "订单详情"  # its title in the browsable API

    permission_classes = [IsAuthenticated, IsOwnerOrStaff]

    @extend_schema(summary="订单详情", responses={200: OrderResponse, **_errors(401, 403, 404)})
    def get(self, request, pk: int | None = None, order_number: str | None = None):
        order = selectors.order_get(pk=pk, order_number=order_number)
        self.check_object_permissions(request, order)
        return Response(OrderResponse(order).data)


class OrderCancelView(APIView):
    """取消一个待支付订单；已支付、已取消或已过期的订单返回 409。"""

    name = "取消订单"  # its title in the browsable API

    permission_classes = [IsAuthenticated, IsOwnerOrStaff]

    @extend_schema(
        summary="取消待支付订单",
        request=None,
        responses={200: OrderResponse, **_errors(401, 403, 404, 409)},
    )
    def put(self, request, pk: int):
        self.check_object_permissions(request, selectors.order_get(pk=pk))
        return Response(OrderResponse(services.order_cancel(order_id=pk)).data)


class OrderRefundsView(BrowsableInput, APIView):
    """一个订单的退款（需要“退款VIP订单”权限）：GET 列出，POST 发起。金额不填即退还剩余可退的
    全部金额；同一订单的退款合计不会超过订单金额（处理中的退款也计入）。会员时长随退款按比例扣回。"""

    name = "订单退款"  # its title in the browsable API

    input_serializer = RefundInput
    permission_classes = [staff_right(REFUND_ORDERS)]

    @extend_schema(
        summary="订单的退款（管理员）",
        responses={200: RefundOutput(many=True), **_errors(401, 403, 404)},
    )
    def get(self, request, order_number: str):
        order = selectors.order_get(order_number=order_number)
        return Response(RefundOutput(selectors.refunds_of(order_id=order.pk), many=True).data)

    @extend_schema(
        summary="发起退款（管理员）",
        request=RefundInput,
        examples=[
            OpenApiExample(
                "部分退款", value={"amount": 10.00, "reason": "重复购买"}, request_only=True
            ),
            OpenApiExample("全额退款", value={"reason": "七天无理由退款"}, request_only=True),
        ],
        responses={200: RefundOutput, **_errors(400, 401, 403, 404, 409)},
    )
    def post(self, request, order_number: str):
        params = RefundInput(data=request.data)
        params.is_valid(raise_exception=True)
        refund = refunds.refund_request(
            order_number=order_number,
            amount=params.validated_data.get("amount"),
            reason=params.validated_data["reason"],
            actor=request.user,
        )
        return Response(RefundOutput(refund).data)


class OrderStatisticsView(APIView):
    """订单统计（需要“查看VIP订单”权限）：各状态、各支付方式、各套餐的订单数和金额。"""

    name = "订单统计"  # its title in the browsable API

    permission_classes = [staff_right(VIEW_ORDERS)]

    @extend_schema(
        summary="订单统计（管理员）", responses={200: OrderStatisticsOutput, **_errors(401, 403)}
    )
    def get(self, request):
        return Response(OrderStatisticsOutput(selectors.order_statistics()).data)


class CancelExpiredView(APIView):
    """把超过支付截止时间的待支付订单标记为已过期（需要“修改VIP订单”权限；定时任务每分钟
    也会做）。"""

    name = "过期未支付订单"  # its title in the browsable API

    permission_classes = [staff_right(CHANGE_ORDERS)]

    @extend_schema(
        summary="将超时未支付的订单标记为已过期（管理员）",
        request=None,
        responses={200: CancelExpiredOutput, **_errors(401, 403)},
    )
    def post(self, request):
        return Response({"expired": services.order_expire_overdue()})
