"""`GET /api/search?q=`: the admin's one search box for the staff API (`config.search`)."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from vipplatform.api import LabelledSerializer, PaymentErrorSerializer, error_responses
from vipplatform.permissions import VIEW_ORDERS, VIEW_USERS, staff_right

from .search import MAX_TERM, search

_errors = error_responses(
    PaymentErrorSerializer, {400: "请求参数无效", 401: "未登录", 403: "无权访问"}
)


class SearchQuery(LabelledSerializer):
    q = serializers.CharField(
        max_length=MAX_TERM,
        help_text="用户名、邮箱、手机号、订单号（或它开头的几位）、支付网关交易号",
        error_messages={"required": "q不能为空", "blank": "q不能为空"},
    )


class HitOutput(LabelledSerializer):
    kind = serializers.ChoiceField(choices=[("user", "用户"), ("order", "订单")])
    id = serializers.IntegerField()
    label = serializers.CharField(help_text="用户名或订单号")
    detail = serializers.CharField()
    exact = serializers.BooleanField(help_text="完全匹配（排在前面）")
    url = serializers.CharField(help_text="管理后台中的页面")


class SearchOutput(LabelledSerializer):
    q = serializers.CharField()
    results = HitOutput(many=True)


class SearchView(APIView):
    """一个搜索框（需要“查看用户”或“查看VIP订单”权限）：按用户名、邮箱、手机号、订单号
    （或开头几位）、支付网关交易号查找，完全匹配的排在前面；只返回有权查看的类型。"""

    name = "搜索用户和订单"  # its title in the browsable API

    permission_classes = [staff_right(VIEW_USERS + VIEW_ORDERS)]  # either right

    @extend_schema(
        summary="搜索用户和订单（管理员）",
        parameters=[
            OpenApiParameter(
                "q",
                str,
                required=True,
                description=SearchQuery().fields["q"].help_text,
                examples=[OpenApiExample("用户名", value="demo")],
            )
        ],
        responses={200: SearchOutput, **_errors(400, 401, 403)},
    )
    def get(self, request):
        query = SearchQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        term = query.validated_data["q"]
        hits = search(term, user=request.user)
        return Response(SearchOutput({"q": term, "results": hits}).data)
