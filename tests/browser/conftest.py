"""Playwright for Python driving Debian's Chromium against pytest-django's live server."""

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium_path() -> str | None:
    return shutil.which("chromium") or (
        "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None
    )


@pytest.fixture(scope="session")
def chromium():
    path = _chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: .ci/run installs Debian's chromium")
        pytest.skip("no Chromium here: apt-get install chromium (bin/test does not install it)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the tests' own ORM calls are
    # still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=path, headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(chromium):
    context = chromium.new_context(
        viewport={"width": 414, "height": 896}, locale="zh-CN", timezone_id="America/New_York"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


DOCS = SCREENSHOTS.parents[1] / "docs"


def take_screenshot(page, name: str) -> Path:
    """`page` in artifacts/screenshots/<name>.png; with UPDATE_DOC_SCREENSHOTS=1
    (`bin/screenshots`) also over docs/<name>.png when the docs show that picture. A test run
    never rewrites a tracked file."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("UPDATE_DOC_SCREENSHOTS") == "1" and (DOCS / path.name).exists():
        shutil.copy(path, DOCS / path.name)
    return path


@pytest.fixture
def screenshot(page):
    return lambda name: take_screenshot(page, name)


@pytest.fixture(autouse=True)
def _site_url(settings, live_server):
    """The QR code's link and the sandbox's notifications go to the live server."""
    settings.SITE_URL = live_server.url


@pytest.fixture
def desk(chromium):
    """A staff member's screen: 1280 px wide."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def staff_desk(desk, live_server):
    """Logged into the admin as a superuser, the three plans made."""
    from tests.factories import PASSWORD, StaffFactory, VipPlanFactory

    for pk in (1, 2, 3):
        VipPlanFactory(id=pk)
    StaffFactory(username="boss", is_superuser=True)
    desk.goto(f"{live_server.url}/admin/login/?next=/admin/")
    desk.get_by_label("用户名").fill("boss")
    desk.get_by_label("密码").fill(PASSWORD)
    desk.get_by_role("button", name=re.compile("登录")).click()
    expect(desk).to_have_url(re.compile(r"/admin/$"))
    return desk
