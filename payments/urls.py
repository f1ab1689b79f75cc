from django.urls import path

from . import api, renewals_api, views

app_name = "payments"

urlpatterns = [
    path("plans", api.PlansView.as_view(), name="plans"),
    path("generate-qrcode", api.GenerateQrCodeView.as_view(), name="generate-qrcode"),
    path("status/<str:order_number>", api.OrderStatusView.as_view(), name="status"),
    path("callback", api.PaymentCallbackView.as_view(), name="callback"),
    # each provider with a route of its own (`Provider.notify_route`): notify/wechat, …
    path("notify/<str:provider_name>", views.provider_notification, name="notify"),
    path("users/<int:user_id>/orders", api.UserOrdersView.as_view(), name="user-orders"),
    path("orders/search", api.OrderSearchView.as_view(), name="order-search"),
    path("orders/statistics", api.OrderStatisticsView.as_view(), name="order-statistics"),
    path("orders/cancel-expired", api.CancelExpiredView.as_view(), name="orders-cancel-expired"),
    path(
        "orders/by-number/<str:order_number>",
        api.OrderDetailView.as_view(),
        name="order-by-number",
    ),
    path("orders/<str:order_number>/refunds", api.OrderRefundsView.as_view(), name="order-refunds"),
    path("orders/<int:pk>", api.OrderDetailView.as_view(), name="order-detail"),
    path("orders/<int:pk>/cancel", api.OrderCancelView.as_view(), name="order-cancel"),
    path("qrcode/<str:order_number>.svg", api.QrCodeView.as_view(), name="qrcode"),
    # 连续包月
    path("renewal-plans", renewals_api.RenewingPlansView.as_view(), name="renewal-plans"),
    path("agreements", renewals_api.AgreementsView.as_view(), name="agreements"),
    path(
        "agreements/<str:agreement_number>",
        renewals_api.AgreementDetailView.as_view(),
        name="agreement",
    ),
    path(
        "agreements/<str:agreement_number>/cancel",
        renewals_api.AgreementCancelView.as_view(),
        name="agreement-cancel",
    ),
    path(
        "agreements/<str:agreement_number>/qrcode.svg",
        renewals_api.AgreementQrCodeView.as_view(),
        name="agreement-qrcode",
    ),
]
