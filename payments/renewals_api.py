"""`/api/payment/renewal-plans` and `/api/payment/agreements/...`: 连续包月 for the member (sign,
follow, cancel) and for staff (read anyone's; cancel with the right to change orders). Thin DRF
views over `payments.renewals` and `payments.selectors`."""

from django.http import HttpResponse
from django.utils.cache import patch_cache_control
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from vipplatform.api import BrowsableInput, PaymentErrorSerializer, error_responses
from vipplatform.exceptions import NotFound
from vipplatform.permissions import VIEW_ORDERS, IsOwnerOrStaff, require_self_or
from vipplatform.throttling import OrderCreateThrottle

from . import renewals, selectors
from .models import AgreementState, CancelledBy
from .qrcode import qr_code_svg
from .serializers import AgreementInput, AgreementOutput, RenewingPlanOutput

_errors = error_responses(
    PaymentErrorSerializer,
    {
        400: "请求参数无效",
        401: "未登录",
        404: "协议不存在",
        409: "已开通自动续费，或协议已结束",
        429: "请求过于频繁",
        503: "支付平台暂时不可用",
    },
)


class AgreementOwnerOrStaff(IsOwnerOrStaff):
    missing = "自动续费协议不存在"


class RenewingPlansView(APIView):
    """连续包月套餐：签约后每期自动扣款，随时可取消；首期价格签约后立即扣款。没有可签约的支付
    渠道时为空。"""

    name = "自动续费套餐"

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(summary="自动续费套餐", responses={200: RenewingPlanOutput(many=True)})
    def get(self, request):
        return Response(RenewingPlanOutput(selectors.renewing_plans(), many=True).data)


class AgreementsView(BrowsableInput, APIView):
    """我的自动续费协议：GET 列出（有“查看VIP订单”权限的管理员可用 `?userId=` 看任何会员的），
    POST 开始签约：返回协议（待签约）和签约二维码，会员用微信或支付宝扫码同意后生效，随即扣
    首期费用；页面轮询 `GET /api/payment/agreements/{agreementNumber}` 跟进。"""

    name = "自动续费协议"

    input_serializer = AgreementInput
    permission_classes = [IsAuthenticated]

    def get_throttles(self):
        return [OrderCreateThrottle()] if self.request.method == "POST" else []

    @extend_schema(
        summary="自动续费协议列表",
        parameters=[OpenApiParameter("userId", int, description="会员ID（管理员）")],
        responses={200: AgreementOutput(many=True), **_errors(401, 404)},
    )
    def get(self, request):
        user_id = request.query_params.get("userId", "")
        user_id = int(user_id) if user_id.isdigit() and len(user_id) < 19 else request.user.pk
        require_self_or(request, user_id, VIEW_ORDERS, missing="用户不存在")
        agreements = selectors.agreements_of(user_id=user_id)[:50]
        return Response(AgreementOutput(agreements, many=True).data)

    @extend_schema(
        summary="开通自动续费（签约）",
        request=AgreementInput,
        examples=[
            OpenApiExample("微信支付", value={"planId": 4, "paymentMethod": 0}, request_only=True)
        ],
        responses={201: AgreementOutput, **_errors(400, 401, 409, 429, 503)},
    )
    def post(self, request):
        params = AgreementInput(data=request.data)
        params.is_valid(raise_exception=True)
        agreement = renewals.agreement_sign(
            user=request.user,
            plan_id=params.validated_data["planId"],
            payment_method=int(params.validated_data["paymentMethod"]),
        )
        return Response(AgreementOutput(agreement).data, status=status.HTTP_201_CREATED)


class AgreementDetailView(APIView):
    """一个自动续费协议：状态（待签约、生效中、已暂停、已解约、未签约）、下次扣款日和金额、
    是否已提醒。"""

    name = "自动续费协议详情"

    permission_classes = [IsAuthenticated, AgreementOwnerOrStaff]

    @extend_schema(summary="协议详情", responses={200: AgreementOutput, **_errors(401, 404)})
    def get(self, request, agreement_number: str):
        agreement = selectors.agreement_get(agreement_number=agreement_number)
        self.check_object_permissions(request, agreement)
        return Response(AgreementOutput(agreement).data)


class AgreementCancelView(APIView):
    """取消自动续费：立即生效，不再扣款，并在支付平台解约；已付费的会员期照常有效。会员本人，
    或有“修改VIP订单”权限的管理员。已结束的协议返回 409。"""

    name = "取消自动续费"

    permission_classes = [IsAuthenticated, AgreementOwnerOrStaff]

    @extend_schema(
        summary="取消自动续费",
        request=None,
        responses={200: AgreementOutput, **_errors(401, 404, 409)},
    )
    def post(self, request, agreement_number: str):
        agreement = selectors.agreement_get(agreement_number=agreement_number)
        self.check_object_permissions(request, agreement)
        mine = agreement.user_id == request.user.pk
        by = CancelledBy.MEMBER if mine else CancelledBy.STAFF
        agreement = renewals.agreement_cancel(agreement_number=agreement.agreement_number, by=by)
        return Response(AgreementOutput(agreement).data)


class AgreementQrCodeView(APIView):
    """待签约协议的签约二维码（SVG），编码的是支付平台的签约页面；会员本人可见。"""

    name = "签约二维码图片"

    permission_classes = [IsAuthenticated, AgreementOwnerOrStaff]

    @extend_schema(
        summary="签约二维码图片",
        responses={
            (200, "image/svg+xml"): OpenApiResponse(OpenApiTypes.BINARY, description="SVG"),
            **_errors(401, 404),
        },
    )
    def get(self, request, agreement_number: str):
        agreement = selectors.agreement_get(agreement_number=agreement_number)
        self.check_object_permissions(request, agreement)
        if agreement.state != AgreementState.SIGNING or not agreement.sign_code:
            raise NotFound("协议已不在签约中")
        response = HttpResponse(qr_code_svg(agreement.sign_code), content_type="image/svg+xml")
        patch_cache_control(response, private=True, max_age=600)
        return response
