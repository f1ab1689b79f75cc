"""Chinese everywhere staff look: the admin (the beat schedule and the permissions included),
DRF's browsable API, the error pages and the API's errors."""

import re
from html import unescape
from http import HTTPStatus
from pathlib import Path

import pytest
import rest_framework
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client
from django_celery_beat.models import PeriodicTask

from tests.factories import StaffFactory, VipOrderFactory

pytestmark = pytest.mark.django_db

# English that belongs on a Chinese page: names of things, protocols, code a developer reads.
ALLOWED = {
    "VIP", "CSV", "JSON", "API", "SVG", "HTTP", "HTTPS", "GET", "POST", "PUT", "PATCH", "DELETE",
    "OPTIONS", "HEAD", "Allow", "Content-Type", "Vary", "Accept", "Crontab", "Redis", "AMQP",
    "Cookie", "Celery", "Control", "Command", "Mac", "ID", "Swagger", "CSRF", "XSRF-TOKEN",
    "Session", "true", "false", "null", "Chart.js", "Prometheus",
}  # fmt: skip


def english(html: str, *, ignore: str = "") -> set[str]:
    """The English words a reader sees: not scripts, styles, code or JSON, nor what a form
    field holds, nor `ignore` (the user's name)."""
    html = unescape(html).replace(ignore or "\0", " ")
    html = re.sub(r"(?s)<(script|style|pre|code|textarea|select)\b.*?</\1>", " ", html)
    text = re.sub(r"<[^>]+>", " ", html)
    text = re.sub(r"[A-Za-z0-9]*[0-9][A-Za-z0-9]*", " ", text)  # order numbers, ids
    words = set(re.findall(r"[A-Za-z][A-Za-z\-]{2,}", text))
    data = {"admin", "user", "example", "com"}  # the factories' usernames and addresses
    return {w for w in words if w not in ALLOWED and not w.isupper()} - data


def admin_pages() -> list[str]:
    pages = ["/admin/", "/admin/overview/", "/admin/search/?q=x", "/admin/password_change/"]
    for model in admin.site._registry:
        opts = model._meta
        pages.append(f"/admin/{opts.app_label}/{opts.model_name}/")
    return pages


@pytest.fixture
def superuser_client(admin_user):
    call_command("migrate", verbosity=0)  # the beat schedule and the permissions' names
    client = Client()
    client.force_login(admin_user)
    return client


def test_every_admin_list_speaks_chinese(superuser_client, plans):
    VipOrderFactory()
    found = {}
    for url in admin_pages():
        response = superuser_client.get(url)
        assert response.status_code == HTTPStatus.OK, url
        words = english(response.content.decode())
        if words:
            found[url] = words
    assert found == {}


def test_the_beat_schedule_in_chinese(superuser_client):
    task = PeriodicTask.objects.get(task="payments.tasks.prune_notifications")
    listed = superuser_client.get("/admin/django_celery_beat/periodictask/").content.decode()
    assert "每天" in listed and "每86400秒" not in listed and "每 86400 秒" not in listed
    assert "payments.tasks." not in listed  # the jobs by what they do
    assert "celery.backend_cleanup" not in listed
    page = superuser_client.get(f"/admin/django_celery_beat/periodictask/{task.pk}/change/")
    assert english(page.content.decode()) == set()


def test_permissions_are_named_in_chinese(superuser_client):
    names = set(Permission.objects.values_list("name", flat=True))
    assert "可以添加VIP订单" in names and "可以查看周期性任务" in names
    assert not [name for name in names if name.startswith("Can ")]
    page = superuser_client.get("/admin/auth/group/add/").content.decode()
    assert "Can add" not in page and "可以修改用户" in page


@pytest.mark.parametrize(
    "url",
    ["/api/", "/api/payment/orders/search", "/api/users/profile", "/api/payment/orders/statistics"],
)
def test_the_browsable_api_speaks_chinese(client, plans, url):
    staff = StaffFactory()
    client.force_login(staff)
    page = client.get(url, HTTP_ACCEPT="text/html").content.decode()
    assert english(page, ignore=staff.username) - {"json", "api"} == set(), url  # formats


def test_the_drf_template_follows_the_installed_drf():
    """Ours is DRF's with its English in Chinese: every other line of DRF's is in ours, so an
    upgrade of DRF that changes its template fails here until ours follows."""
    theirs = Path(rest_framework.__file__).parent / "templates/rest_framework/base.html"
    ours = Path(__file__).parent.parent / "templates/rest_framework/base.html"
    english_lines = re.compile(
        r"Make an? |Raw data|HTML form|Django REST framework|Cancel<|Delete<|Specify a format|"
        r"Are you sure|optional_log|user.is_authenticated|{% else %}|{% endif %}|navbar-brand|"
        r"^\s*</a>$"
    )
    kept = [
        line for line in theirs.read_text().splitlines()
        if line.strip() and not english_lines.search(line)
    ]  # fmt: skip
    assert [line for line in kept if line not in ours.read_text().splitlines()] == []


def test_error_pages_speak_chinese(client):
    page = client.get("/no-such-page/")
    assert page.status_code == HTTPStatus.NOT_FOUND
    assert "页面不存在" in page.content.decode() and "Not Found" not in page.content.decode()


def test_api_errors_speak_chinese(plans):
    staff = StaffFactory()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff)
    refused = strict.post("/api/payment/orders/search", "{}", content_type="application/json")
    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert refused.json()["error"].startswith("CSRF校验失败：缺少CSRF Cookie")
    lenient = Client()
    lenient.force_login(staff)
    bad = lenient.post("/api/payment/orders/search", "{bad", content_type="application/json")
    assert bad.json()["error"] == "请求体不是有效的JSON（第1行第2列）"
    envelope = lenient.put("/api/users/profile", "{bad", content_type="application/json")
    assert envelope.json()["message"] == "请求体不是有效的JSON（第1行第2列）"
