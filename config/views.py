"""The API's root page: it names every app's paths, so it lives where the apps are assembled."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


class ApiRootView(APIView):
    """接口首页：各组路径、在售套餐和接口文档的链接。"""

    name = "接口首页"  # its title in the browsable API

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request):
        def link(name: str, *args) -> str:
            return request.build_absolute_uri(reverse(name, args=args))

        return Response(
            {
                "payment": {
                    "plans": link("payments:plans"),
                    "generate-qrcode": link("payments:generate-qrcode"),
                    "callback": link("payments:callback"),
                    "orders/search": link("payments:order-search"),
                    "orders/statistics": link("payments:order-statistics"),
                },
                "users": {
                    "register": link("users:register"),
                    "login": link("users:login"),
                    "current": link("users:current"),
                    "list": link("users:list"),
                },
                "schema": link("schema"),
                "docs": link("swagger-ui"),
            }
        )
