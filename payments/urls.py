from django.urls import path

from . import api, views

app_name = "payments"

urlpatterns = [
    path("generate-qrcode", api.GenerateQrCodeView.as_view(), name="generate-qrcode"),
    path("status/<str:order_number>", api.OrderStatusView.as_view(), name="status"),
    path("callback", api.PaymentCallbackView.as_view(), name="callback"),
    path("users/<int:user_id>/orders", api.UserOrdersView.as_view(), name="user-orders"),
    path("qrcode/<str:order_number>.svg", views.qr_code, name="qrcode"),
]
