"""`/metrics` for Prometheus: the requests (django-prometheus's middleware), the business's
counters (`payments.metrics`), and gauges read from the database when scraped.

Under gunicorn every worker writes its metrics to files in PROMETHEUS_MULTIPROC_DIR (an empty
directory at start, see gunicorn.conf.py), and this view adds them up, so a scrape sees the
whole server whichever worker answers. Reachable from METRICS_ALLOWED_IPS directly (not through
the reverse proxy) or with `Authorization: Bearer <METRICS_TOKEN>`; anyone else gets a 404.
"""

import hmac
import ipaddress
import logging
import os

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import Http404, HttpResponse
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from vipplatform import health

logger = logging.getLogger(__name__)


class DatabaseCollector:
    """Gauges whose truth is in the database, read at each scrape in a few queries:
    whether the database answers, members in force, paid orders whose grant is failing,
    receipts late, each periodic job's interval, last success and its duration, the bills'
    state, 连续包月 agreements in force and renewals overdue; and
    whether the cache and the broker answer (a quarter of a second each at most).

    The jobs are labelled `task`, not `job`: Prometheus gives every scraped series the
    scrape's own `job` label, and renames a `job` the target sends to `exported_job`."""

    def collect(self):
        yield from _dependencies()
        up = GaugeMetricFamily("vip_database_up", "1 if the database answered this scrape.")
        try:
            families = list(self._from_database())
        except DatabaseError as exc:
            logger.warning("metrics: the database did not answer: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _from_database(self):
        from django_celery_beat.models import PeriodicTask

        from payments.bills import bills_state
        from payments.models import VipOrder
        from payments.renewals import agreements_active, agreements_overdue
        from users.notices import receipts_late_count
        from users.selectors import active_member_count
        from vipplatform.models import JobRun

        connection.ensure_connection()
        members = GaugeMetricFamily("vip_active_members", "Memberships in force now.")
        members.add_metric([], active_member_count())
        failing = GaugeMetricFamily(
            "vip_grants_failing", "Paid orders whose VIP grant failed and is not yet done."
        )
        failing.add_metric(
            [],
            VipOrder.objects.grant_failing().count(),
        )
        late = GaugeMetricFamily(
            "vip_receipts_late",
            "Paid orders' receipts still unsent 10 minutes after the grant (last day).",
        )
        late.add_metric([], receipts_late_count())
        interval = GaugeMetricFamily(
            "vip_job_interval_seconds", "Each periodic job's interval (0: paused).", labels=["task"]
        )
        for task, every, period, enabled in PeriodicTask.objects.filter(
            interval__isnull=False
        ).values_list("task", "interval__every", "interval__period", "enabled"):
            seconds = every * {"days": 86400, "hours": 3600, "minutes": 60}.get(period, 1)
            interval.add_metric([task], seconds if enabled else 0)
        success = GaugeMetricFamily(
            "vip_job_last_success_timestamp_seconds",
            "When each periodic job last succeeded (unix time).",
            labels=["task"],
        )
        duration = GaugeMetricFamily(
            "vip_job_last_duration_seconds", "How long its last success took.", labels=["task"]
        )
        for run in JobRun.objects.exclude(last_success_at=None):
            success.add_metric([run.task], run.last_success_at.timestamp())
            duration.add_metric([run.task], run.last_duration_seconds or 0)
        reconciled = GaugeMetricFamily(
            "vip_bill_reconciled_through_timestamp_seconds",
            "When the last day reconciled against the provider's bill ended (unix time; 0: none).",
            labels=["provider"],
        )
        differences = GaugeMetricFamily(
            "vip_bill_open_differences",
            "Differences between the provider's bills and the platform that staff have not closed.",
            labels=["provider"],
        )
        for provider, (through, open_differences) in bills_state().items():
            reconciled.add_metric([provider], through.timestamp() if through else 0)
            differences.add_metric([provider], open_differences)
        renewing = GaugeMetricFamily(
            "vip_agreements_active", "连续包月 agreements in force.", labels=["provider"]
        )
        for provider, count in agreements_active().items():
            renewing.add_metric([provider], count)
        overdue = GaugeMetricFamily(
            "vip_renewals_overdue",
            "Active 连续包月 agreements whose charge day passed over a day ago with no try since "
            "(the renewal job is not running).",
        )
        overdue.add_metric([], agreements_overdue(now=timezone.now()))
        scraped = GaugeMetricFamily("vip_scrape_timestamp_seconds", "This scrape's time.")
        scraped.add_metric([], timezone.now().timestamp())
        return [
            members, failing, late, interval, success, duration, reconciled, differences,
            renewing, overdue, scraped,
        ]  # fmt: skip


def _dependencies():
    """`vip_cache_up` and `vip_broker_up`, where the platform uses them (absent otherwise)."""
    for name, text, state in (
        ("vip_cache_up", "1 if the shared cache (Redis) answers.", health.cache_up()),
        ("vip_broker_up", "1 if the Celery broker (Redis) answers.", health.broker_up()),
    ):
        if state is not None:
            gauge = GaugeMetricFamily(name, text)
            gauge.add_metric([], int(state))
            yield gauge


# Any of these marks a request as forwarded by a proxy (nginx's X-Real-IP, RFC 7239's
# Forwarded, the common X-Forwarded-For and its companions).
FORWARDING_HEADERS = (
    "X-Forwarded-For",
    "X-Real-IP",
    "Forwarded",
    "X-Forwarded-Host",
    "X-Forwarded-Proto",
    "X-Client-IP",
    "True-Client-IP",
)


def _allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    if any(name in request.headers for name in FORWARDING_HEADERS):
        # Through a reverse proxy, whose own address (often 127.0.0.1) says nothing of the
        # client's, whichever of these it sets: only the token opens it.
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)


def metrics_view(request) -> HttpResponse:
    if not _allowed(request):
        raise Http404()  # nothing to see here, for anyone else
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        output = generate_latest(registry)
    else:
        output = generate_latest(REGISTRY)
    database = CollectorRegistry()
    database.register(DatabaseCollector())
    output += generate_latest(database)
    return HttpResponse(output, content_type=CONTENT_TYPE_LATEST)
