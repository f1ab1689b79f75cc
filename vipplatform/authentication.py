from django.middleware import csrf
from rest_framework import authentication, exceptions

# Django's reasons for refusing a request's CSRF check, in the words the API answers.
CSRF_REASONS = {
    csrf.REASON_NO_CSRF_COOKIE: "缺少CSRF Cookie：请先请求一次页面或 /api/users/login-status",
    csrf.REASON_CSRF_TOKEN_MISSING: (
        "缺少CSRF令牌：请在 X-XSRF-TOKEN 请求头中带上 XSRF-TOKEN Cookie 的值"
    ),
    csrf.REASON_BAD_ORIGIN.split("%")[0]: "请求来源（Origin）不被信任",
    csrf.REASON_NO_REFERER: "HTTPS 请求缺少 Referer",
    csrf.REASON_INSECURE_REFERER: "HTTPS 请求的 Referer 不安全",
}


class SessionAuthentication(authentication.SessionAuthentication):
    """Django's session cookie, answering 401 (not DRF's 403) when it is missing, and a failed
    CSRF check in Chinese (DRF answers "CSRF Failed: CSRF cookie not set.")."""

    def authenticate_header(self, request) -> str:
        return "Session"

    def enforce_csrf(self, request):
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as exc:
            reason = str(exc.detail).removeprefix("CSRF Failed: ")
            for english, chinese in CSRF_REASONS.items():
                if reason.startswith(english):
                    reason = chinese
                    break
            else:
                reason = "CSRF令牌无效或已过期：请刷新页面后重试"
            raise exceptions.PermissionDenied(f"CSRF校验失败：{reason}") from None
