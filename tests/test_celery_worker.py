"""A real Celery worker on the local Redis: a failed VIP grant sent to the broker is retried
further apart each time until it succeeds, once, and the receipt goes out as a second task."""

import re
import subprocess
import sys
from datetime import datetime
from email import message_from_bytes, policy
from itertools import pairwise
from pathlib import Path

import pytest
from django.utils import timezone

from config import celery_app
from payments.models import OrderStatus
from payments.tasks import retry_vip_grant
from users.models import MemberEmail, VipLedgerEntry

from .factories import VipOrderFactory
from .helpers import requires_mariadb
from .servers import ROOT, env_on_test_database, wait_until

pytestmark = [requires_mariadb, pytest.mark.django_db(transaction=True)]

FAILURES = 2


@pytest.fixture
def worker(tmp_path, own_redis):
    broker = own_redis.url(1)  # a database of the run's own Redis that only this test uses
    env = env_on_test_database(
        CELERY_BROKER_URL=broker,
        VIP_GRANT_RETRY_BASE_SECONDS="1",
        EMAIL_URL=f"filemail:///{tmp_path / 'mail'}",  # an absolute path
        TEST_GRANT_FAILURES=str(FAILURES),
        LOG_FORMAT="plain",
        LOG_LEVEL="INFO",
    )
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tests.celery_worker", "worker",
             "--pool=solo", "--loglevel=INFO", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        if not wait_until(lambda: "ready." in log.read_text(), timeout=30):
            pytest.fail(f"the worker did not start:\n{log.read_text()}")
        yield log, tmp_path / "mail", broker
    finally:
        process.terminate()
        process.wait(timeout=20)
        (ROOT / "artifacts").mkdir(exist_ok=True)
        (ROOT / "artifacts" / "celery-worker.log").write_text(log.read_text())


def send_to_broker(broker: str, task, *args) -> None:
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        with celery_app.connection_for_write(broker) as conn:
            task.apply_async(args, connection=conn)
    finally:
        celery_app.conf.task_always_eager = previous


def logged_at(line: str) -> datetime:
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")


def test_a_failed_grant_is_retried_on_the_worker_with_growing_delays(plans, worker):
    log, maildir, broker = worker
    order = VipOrderFactory(status=OrderStatus.PAID, pay_time=timezone.now())
    order.grant_failed_at, order.grant_error = timezone.now(), "RuntimeError: earlier"
    order.save()

    send_to_broker(broker, retry_vip_grant, order.pk)

    assert wait_until(lambda: VipLedgerEntry.objects.filter(order=order).exists(), timeout=30), (
        log.read_text()
    )
    assert wait_until(lambda: maildir.exists() and any(maildir.iterdir()), timeout=15)
    text = log.read_text()
    tries = [logged_at(line) for line in text.splitlines() if "retrying vip grant" in line]
    assert len(tries) == FAILURES + 1, text
    gaps = [(later - earlier).total_seconds() for earlier, later in pairwise(tries)]
    assert 1.9 < gaps[0] < gaps[1] and gaps[1] > 3.9, gaps  # 2 s, then 4 s
    assert re.findall(r"try (\d) failed, next in (\d+)s", text) == [("1", "2"), ("2", "4")]

    order.refresh_from_db()
    assert (order.grant_failed_at, order.grant_error) == (None, "")
    assert VipLedgerEntry.objects.filter(order=order).count() == 1
    [email_file] = maildir.iterdir()
    receipt = message_from_bytes(Path(email_file).read_bytes(), policy=policy.default)
    assert receipt["To"] == order.user.email
    assert "支付成功" in receipt["Subject"]
    assert MemberEmail.objects.filter(user=order.user).count() == 1
