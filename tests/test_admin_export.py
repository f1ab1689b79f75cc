"""「导出CSV」 on the admin's big lists: what the filters and search select, between two dates,
streamed in batches, readable by Excel."""

import csv
import io
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from payments.models import NotificationOutcome, OrderStatus, PaymentNotification
from tests.factories import StaffFactory, UserFactory, VipOrderFactory
from users.models import VipChangeKind, VipLedgerEntry
from vipplatform import admin_lists as shared

pytestmark = pytest.mark.django_db

ORDERS = "/admin/payments/viporder/"


def exported(response) -> list[list[str]]:
    assert response.status_code == HTTPStatus.OK
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())  # Excel reads the file as UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_orders_export_follows_the_lists_filters_and_the_dates(admin_client, plans):
    now = timezone.now()
    member = UserFactory(username="=HYPERLINK(1)")
    wanted = [
        VipOrderFactory(
            user=member, status=OrderStatus.PAID, pay_time=now, create_time=now - timedelta(days=d)
        )
        for d in (1, 2)
    ]
    VipOrderFactory(status=OrderStatus.PAID, create_time=now - timedelta(days=9))  # too old
    VipOrderFactory(create_time=now - timedelta(days=1))  # not paid
    start = timezone.localdate() - timedelta(days=3)
    rows = exported(
        admin_client.get(ORDERS + "export/", {"status": "1", "start": f"{start:%Y-%m-%d}"})
    )
    assert rows[0][:3] == ["订单号", "用户ID", "用户名"]
    assert [row[0] for row in rows[1:]] == [o.order_number for o in reversed(wanted)]
    first = rows[2]
    assert first[2] == "'=HYPERLINK(1)"  # text, not a formula
    assert first[7] == "已支付"
    created = timezone.localtime(wanted[0].create_time)
    assert first[8] == f"{created:%Y-%m-%d %H:%M:%S}"  # Shanghai time
    assert 'id="export-form"' in admin_client.get(ORDERS).content.decode()


def test_an_export_reads_in_batches_and_costs_a_query_per_batch(admin_client, plans, monkeypatch):
    monkeypatch.setattr(shared, "EXPORT_BATCH", 4)
    VipOrderFactory.create_batch(10)
    with CaptureQueriesContext(connection) as queries:
        rows = exported(admin_client.get(ORDERS + "export/"))
    assert len(rows) == 11 and len({row[0] for row in rows[1:]}) == 10
    batches = [
        q
        for q in queries.captured_queries
        if "FROM `vip_order`" in q["sql"] and "LIMIT 4" in q["sql"]
    ]
    assert len(batches) == 4  # 4 + 4 + 2, then the empty one


def test_ledger_and_notifications_export(admin_client, plans):
    member = UserFactory(username="ledgered")
    VipLedgerEntry.objects.create(user=member, kind=VipChangeKind.EXPIRED, reason="到期")
    PaymentNotification.objects.create(
        order_number="N1", provider="alipay", outcome=NotificationOutcome.REFUSED
    )
    ledger = exported(admin_client.get("/admin/users/vipledgerentry/export/"))
    assert ledger[1][2:4] == ["ledgered", "到期"]
    assert ledger[1][7:] == ["系统", "到期"]
    notes = exported(admin_client.get("/admin/payments/paymentnotification/export/"))
    assert notes[1][1:3] == ["支付宝", "N1"]
    assert notes[1][4] == "已拒绝"


def test_bad_dates_go_back_to_the_list_with_a_message(admin_client, plans):
    today = timezone.localdate()
    for params in [{"start": "x"}, {"start": f"{today}", "end": f"{today - timedelta(days=1)}"}]:
        response = admin_client.get(ORDERS + "export/", {"status": "1", **params})
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"] == ORDERS + "?status=1"
    page = admin_client.get(ORDERS + "?status=1").content.decode()
    assert "开始日期不能晚于结束日期" in page


def test_export_takes_the_right_to_read_the_list(client, plans):
    client.force_login(StaffFactory(rights=()))
    assert client.get(ORDERS + "export/").status_code == HTTPStatus.FORBIDDEN
