"""连续包月 where people meet it: the API's bad input and other members' agreements, the
sandbox's signing page (the quick start), the admin (a renewing plan, the agreements and the
staff's cancel as the admin grants it), the overview and the metrics."""

from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.test import Client
from django.utils import timezone

from payments import renewals
from payments.models import Agreement, AgreementState, CancelledBy, RenewalCharge, VipPlan
from users.models import VipLedgerEntry

from ..factories import StaffFactory, UserFactory, grant_rights
from ..test_monitoring import scrape, value
from .renewal_helpers import ALIPAY, WECHAT, sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_sandbox(renewing_plan, django_capture_on_commit_callbacks):
    """A member signs in the sandbox (the quick start's provider): its page's 同意 button."""

    def signed(client, user) -> Agreement:
        body = sign(client, renewing_plan.pk, WECHAT).json()
        page = Client()
        page.force_login(user)
        path = f"/pay/agreement/{body['agreementNumber']}/"
        assert page.get(path).status_code == HTTPStatus.OK
        with django_capture_on_commit_callbacks(execute=True):
            answer = page.post(path, {"action": "sign"})
        assert "已开通自动扣费" in answer.content.decode()
        return Agreement.objects.get(agreement_number=body["agreementNumber"])

    return signed


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "planId"),
        ({"planId": "x", "paymentMethod": 0}, "planId"),
        ({"planId": 4, "paymentMethod": 2}, "paymentMethod"),
        ({"planId": 4}, "paymentMethod"),
        ({"planId": 1, "paymentMethod": 0}, "planId"),  # a plan sold once, not renewing
        ({"planId": 2**70, "paymentMethod": 0}, "planId"),
    ],
)
def test_bad_signing_input_is_refused_and_changes_nothing(api, renewing_plan, body, field):
    answer = api.post("/api/payment/agreements", body, format="json")
    assert answer.status_code == HTTPStatus.BAD_REQUEST, answer.content
    assert field in answer.json()["fields"]
    assert not Agreement.objects.exists()


def test_another_members_agreement_is_not_found(api, user, renewing_plan, client_for):
    other = UserFactory()
    number = sign(client_for(other), renewing_plan.pk, WECHAT).json()["agreementNumber"]
    for answer in (
        api.get(f"/api/payment/agreements/{number}"),
        api.post(f"/api/payment/agreements/{number}/cancel"),
        api.get(f"/api/payment/agreements/{number}/qrcode.svg"),
        api.get(f"/api/payment/agreements?userId={other.pk}"),
    ):
        assert answer.status_code == HTTPStatus.NOT_FOUND, answer.content
    assert Agreement.objects.get().state == AgreementState.SIGNING


def test_the_signing_qr_code_is_the_members(api, renewing_plan):
    body = sign(api, renewing_plan.pk, ALIPAY).json()
    answer = api.get(body["qrCodeUrl"])
    assert answer.status_code == HTTPStatus.OK and answer["Content-Type"] == "image/svg+xml"
    assert Client().get(body["qrCodeUrl"]).status_code == HTTPStatus.UNAUTHORIZED


def test_the_quick_start_sandbox_signs_charges_and_cancels(
    api, user, in_sandbox, django_capture_on_commit_callbacks
):
    agreement = in_sandbox(api, user)
    assert (agreement.state, agreement.periods_paid) == (AgreementState.ACTIVE, 1)
    assert VipLedgerEntry.objects.filter(user=user).count() == 1
    page = api.get("/vip/").content.decode()
    assert "自动续费中" in page and "取消自动续费" in page
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post(f"/api/payment/agreements/{agreement.agreement_number}/cancel")
    assert answer.json()["state"] == "cancelled"
    page = api.get("/vip/").content.decode()
    assert "同意并开通自动续费" in page
    assert "已解约" in page and "会员在本站取消" in page and "共扣款1期" in page


def test_the_page_writes_the_terms_where_the_member_decides(api, renewing_plan):
    page = api.get("/vip/").content.decode()
    next_day = (renewals.china_day(timezone.now()) + timedelta(days=29)).isoformat()
    assert "今天扣款¥15.00" in page and "之后每30天自动扣款¥25.00" in page
    assert f"下次扣款日 {next_day}" in page and "至少5天提醒" in page and "一键取消" in page


# --- staff -------------------------------------------------------------------------------


def test_a_renewing_plan_is_made_in_the_admin_with_its_rules(plans):
    boss = Client()
    boss.force_login(StaffFactory(is_superuser=True))
    form = {"name": "连续包年", "days": "365", "price": "268.00", "first_price": "198.00",
            "is_active": "on", "renews": "on"}  # fmt: skip
    assert boss.post("/admin/payments/vipplan/add/", form).status_code == HTTPStatus.FOUND
    assert VipPlan.objects.renewing().get().first_price == Decimal("198.00")
    short = {**form, "name": "连续包周", "days": "5"}
    assert "至少 7 天" in boss.post("/admin/payments/vipplan/add/", short).content.decode()
    old = {"name": "月度会员", "days": "30", "price": "29.90", "is_active": "on", "renews": "on"}
    refused = boss.post("/admin/payments/vipplan/1/change/", old).content.decode()
    assert "请新建一个自动续费套餐" in refused
    assert not VipPlan.objects.get(pk=1).renews


def test_staff_see_agreements_and_cancel_with_the_right_the_admin_grants(
    api, user, in_sandbox, django_capture_on_commit_callbacks
):
    agreement = in_sandbox(api, user)
    viewer = StaffFactory(rights=())
    grant_rights(viewer, ["payments.view_viporder"], group_name="客服")
    client = Client()
    client.force_login(viewer)
    listing = client.get("/admin/payments/agreement/")
    assert listing.status_code == HTTPStatus.OK and agreement.agreement_number in (
        listing.content.decode()
    )
    action = {"action": "cancel_agreements", "_selected_action": [agreement.pk]}
    client.post("/admin/payments/agreement/", action)
    agreement.refresh_from_db()
    assert agreement.state == AgreementState.ACTIVE  # viewing is not cancelling
    grant_rights(viewer, ["payments.change_viporder"], group_name="客服主管")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/payments/agreement/", action)
    agreement.refresh_from_db()
    assert (agreement.state, agreement.cancelled_by) == ("cancelled", CancelledBy.STAFF)
    change = client.get(f"/admin/payments/agreement/{agreement.pk}/change/").content.decode()
    assert "第几次尝试" in change or "期数" in change


def test_the_overview_and_metrics_count_renewals(api, user, in_sandbox, client_for):
    in_sandbox(api, user)
    other = UserFactory()
    cancelled = in_sandbox(client_for(other), other)
    renewals.agreement_cancel(agreement_number=cancelled.agreement_number)
    boss = Client()
    boss.force_login(StaffFactory(is_superuser=True))
    page = boss.get("/admin/overview/").content.decode()
    assert 'id="renewing-members">1<' in page
    assert 'id="renewal-churn">50.0%<' in page
    samples = scrape()
    assert value(samples, "vip_agreements_active", provider="sandbox") == 1
    assert value(samples, "vip_renewals_overdue") == 0
    # a month on, the charge day three days past, and no try since the first: the job is down
    month_ago = timezone.now() - timedelta(days=33)
    RenewalCharge.objects.update(created_at=month_ago)
    Agreement.objects.filter(state=AgreementState.ACTIVE).update(
        next_charge_date=renewals.china_day(timezone.now()) - timedelta(days=3)
    )
    assert value(scrape(), "vip_renewals_overdue") == 1


def test_a_renewing_member_gets_the_renewals_reminder_not_the_expiry_one(
    api, user, in_sandbox, settings, django_capture_on_commit_callbacks
):
    """Their membership ends in a day or two each month, on purpose: the reminder they need
    is of the charge (payments.renewals), not 「您的VIP会员将于…到期」."""
    from users.models import MemberEmail, MemberEmailKind
    from users.tasks import send_membership_notices

    settings.VIP_REMINDER_DAYS = 40
    in_sandbox(api, user)
    with django_capture_on_commit_callbacks(execute=True):
        send_membership_notices.delay()
    assert not MemberEmail.objects.filter(kind=MemberEmailKind.REMINDER).exists()
    Agreement.objects.update(state=AgreementState.CANCELLED)
    with django_capture_on_commit_callbacks(execute=True):
        send_membership_notices.delay()
    assert MemberEmail.objects.filter(kind=MemberEmailKind.REMINDER, user=user).exists()


def test_a_member_without_an_end_is_not_signed(api, user, renewing_plan):
    user.is_vip, user.vip_expire_time = True, None
    user.save(update_fields=["is_vip", "vip_expire_time"])
    assert sign(api, renewing_plan.pk, WECHAT).status_code == HTTPStatus.CONFLICT
    assert not Agreement.objects.exists()


def test_a_renewal_orders_story_names_its_agreement(api, user, in_sandbox):
    agreement = in_sandbox(api, user)
    order = agreement.charges.get().order
    boss = Client()
    boss.force_login(StaffFactory(is_superuser=True))
    page = boss.get(f"/admin/payments/viporder/{order.pk}/change/").content.decode()
    assert "自动续费扣款：第1期第1次尝试" in page and agreement.agreement_number in page
