from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from payments.gateways import provider_urls
from payments.views import vip_page
from users.forms import AdminLoginForm, LoginForm
from users.views import register
from vipplatform import views

from .monitoring import metrics_view
from .overview import overview
from .search import admin_search
from .search_api import SearchView
from .views import ApiRootView

admin.site.site_header = "影视VIP会员 · 管理后台"
admin.site.site_title = "VIP管理后台"
admin.site.login_form = AdminLoginForm  # one login throttle for every way to log in
admin.site.enable_nav_sidebar = False  # the lists need the width at 1280 px

urlpatterns = [
    path("api/", ApiRootView.as_view(), name="api-root"),
    path("api/payment/", include("payments.urls")),
    path("api/users/", include("users.urls")),
    path("api/search", SearchView.as_view(), name="search"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: the CSP allows no inline
    # script. Swagger UI does set inline styles, which this page alone allows.
    path(
        "api/docs/",
        csp_update({"style-src": [UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="schema")
        ),
        name="swagger-ui",
    ),
    # The old springdoc paths.
    path("api-docs", SpectacularAPIView.as_view(), name="schema-legacy"),
    path("swagger-ui.html", RedirectView.as_view(pattern_name="swagger-ui", permanent=True)),
    path(
        "api-auth/login/",
        auth_views.LoginView.as_view(
            template_name="rest_framework/login.html", authentication_form=LoginForm
        ),
        name="api-login",
    ),
    path("api-auth/", include("rest_framework.urls")),
    path("", RedirectView.as_view(pattern_name="vip")),
    path("vip/", vip_page, name="vip"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True, authentication_form=LoginForm
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/register/", register, name="register"),
    *provider_urls(),  # the pages a provider serves payers (the sandbox's checkout)
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("admin/overview/", admin.site.admin_view(overview), name="admin-overview"),
    path("admin/search/", admin.site.admin_view(admin_search), name="admin-search"),
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),
    re_path(r"^api/(?P<path>.*)$", views.api_not_found),  # after every API route
]

handler404 = "vipplatform.views.page_not_found"
handler500 = "vipplatform.views.server_error"
