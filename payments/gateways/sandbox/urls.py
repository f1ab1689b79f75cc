"""The sandbox's pages, at the site's root (`Provider.urls`)."""

from django.urls import path

from .views import sandbox_agreement, sandbox_checkout, sandbox_pay

urlpatterns = [
    path("pay/agreement/<str:agreement_number>/", sandbox_agreement, name="sandbox-agreement"),
    path("pay/<str:order_number>/", sandbox_checkout, name="sandbox-checkout"),
    path("pay/<str:order_number>/simulate", sandbox_pay, name="sandbox-pay"),
]
