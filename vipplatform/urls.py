from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from payments.views import sandbox_checkout

from . import views

urlpatterns = [
    path("api/payment/", include("payments.urls")),
    path("api/users/", include("users.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    # The old springdoc paths.
    path("api-docs", SpectacularAPIView.as_view(), name="schema-legacy"),
    path("swagger-ui.html", RedirectView.as_view(pattern_name="swagger-ui", permanent=True)),
    path("api-auth/", include("rest_framework.urls")),
    path("pay/<str:order_number>/", sandbox_checkout, name="sandbox-checkout"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
]

handler404 = "vipplatform.views.page_not_found"
handler500 = "vipplatform.views.server_error"
