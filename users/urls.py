from django.urls import path

from . import api

app_name = "users"

urlpatterns = [
    path("register", api.RegisterView.as_view(), name="register"),
    path("check-username", api.CheckUsernameView.as_view(), name="check-username"),
    path("login", api.LoginView.as_view(), name="login"),
    path("logout", api.LogoutView.as_view(), name="logout"),
    path("current", api.CurrentUserView.as_view(), name="current"),
    path("login-status", api.LoginStatusView.as_view(), name="login-status"),
    path("profile", api.ProfileView.as_view(), name="profile"),
    path("password", api.PasswordView.as_view(), name="password"),
    path("list", api.UserListView.as_view(), name="list"),
    path("search", api.UserSearchView.as_view(), name="search"),
    path("<int:user_id>", api.UserDetailView.as_view(), name="detail"),
    path("<int:user_id>/vip", api.UserVipView.as_view(), name="vip"),
    path("<int:user_id>/vip/params", api.UserVipParamsView.as_view(), name="vip-params"),
]
