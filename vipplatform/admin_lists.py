"""Pieces the apps' admins share: lists of a million rows, CSV export, links between lists.
(This app's own admin registrations are in admin.py.)"""

import csv
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property

from .times import day_start

logger = logging.getLogger(__name__)


class CappedCountPaginator(Paginator):
    """Counts at most CAP rows: an exact COUNT(*) of a million orders on every page costs more
    than the page. Past the cap the admin offers CAP rows' worth of pages; a filter or a
    search narrows further.

    A page after the first is read in two steps: its rows' ids (from the index that orders
    the list, without reading the rows it skips), then those rows. With one query and a large
    offset MariaDB sorts the whole table instead (the last page: 0.9 s over a million
    orders)."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[: self.CAP].count()

    def page(self, number):
        number = self.validate_number(number)
        if number == 1:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ids = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        rows = {row.pk: row for row in self.object_list.filter(pk__in=ids)}
        return self._get_page([rows[pk] for pk in ids if pk in rows], number, self)


class AtLeast(int):
    """A count that stopped at the paginator's cap: shown as 「10000+」, not as the total."""

    def __str__(self) -> str:
        return f"{int(self)}+"


class IndexOrderChangeList(ChangeList):
    """A list sorted by one column, as the index on it reads: ties broken by the id in the
    same direction (Django adds `-pk` whatever the direction, and a mixed direction cannot
    be read from an index: MariaDB sorts every row), and the model admin's default ordering
    not appended after a column staff chose."""

    def get_ordering(self, request, queryset):
        return super().get_ordering(request, queryset.order_by())

    def get_results(self, request):
        super().get_results(request)
        if self.result_count >= getattr(self.paginator, "CAP", float("inf")):
            self.result_count = AtLeast(self.result_count)

    def _get_deterministic_ordering(self, ordering):
        ordering = super()._get_deterministic_ordering(ordering)
        if len(ordering) > 1 and ordering[-1] == "-pk" and not str(ordering[0]).startswith("-"):
            ordering[-1] = "pk"  # Django's tie-break, in the first column's direction
        return ordering


def changelist_url(model: str, **filters) -> str:
    """The admin list of `model` ("app_model"), filtered."""
    return reverse(f"admin:{model}_changelist") + "?" + urlencode(filters)


class BigListAdmin:
    """For a model admin of a table of a million rows: the capped count, no facet counts, and
    the index-friendly ordering (mix in before `admin.ModelAdmin`)."""

    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # a count per filter choice: a scan of every row
    list_per_page = 50

    def get_changelist(self, request, **kwargs):
        return IndexOrderChangeList


# --- CSV export ---------------------------------------------------------------------------------

EXPORT_BATCH = 2000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value, zone) -> str:
    """A value as Excel shows it: times in the site's zone, nothing a spreadsheet would run as a
    formula (a username starting with = is text)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(zone).isoformat(" ", "seconds")[:19]
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class ExportForm(forms.Form):
    start = forms.DateField(label="从", required=False)
    end = forms.DateField(label="到", required=False)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError("开始日期不能晚于结束日期。")
        return data


class CsvExportAdmin:
    """「导出CSV」 on a list: the rows its filters and search select, between two dates (site
    time, both included) of `export_date_field`, streamed in batches of EXPORT_BATCH read by
    id (a million rows never held in memory at once), as UTF-8 with a BOM so that Excel reads
    the Chinese. `export_columns`: (header, function of a row) pairs."""

    change_list_template = "admin/export_change_list.html"
    export_date_field: str
    export_columns: list[tuple[str, Callable]]
    export_related: tuple[str, ...] = ()

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="{}_{}_export".format(*info),
            ),
            *super().get_urls(),
        ]

    def export_view(self, request):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        form = ExportForm(request.GET)
        if not form.is_valid():
            messages.error(request, " ".join(form.errors.get("__all__", ["日期无效。"])))
            return redirect(self._list_url(request))
        request.GET = request.GET.copy()
        for name in ("start", "end"):
            request.GET.pop(name, None)
        rows = self.get_changelist_instance(request).queryset.order_by()
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        field = self.export_date_field
        if start:
            rows = rows.filter(**{f"{field}__gte": day_start(start)})
        if end:
            rows = rows.filter(**{f"{field}__lt": day_start(end + timedelta(days=1))})
        logger.info(
            "export %s by %s filters=%s", self.opts.label, request.user, request.GET.urlencode()
        )
        name = f"{self.opts.model_name}-{timezone.localdate():%Y%m%d}.csv"
        response = StreamingHttpResponse(
            self._csv_lines(rows), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def _list_url(self, request) -> str:
        query = request.GET.copy()
        for name in ("start", "end"):
            query.pop(name, None)
        info = self.opts.app_label, self.opts.model_name
        return reverse("admin:{}_{}_changelist".format(*info)) + "?" + query.urlencode()

    def _csv_lines(self, rows):
        writer = csv.writer(_Echo())
        zone = timezone.get_current_timezone()
        yield "\ufeff" + writer.writerow([header for header, _ in self.export_columns])
        last = None
        while True:
            batch = rows.order_by("-pk")
            if last is not None:
                batch = batch.filter(pk__lt=last)
            batch = list(batch.values("pk", *self.export_fields)[:EXPORT_BATCH])
            if not batch:
                return
            yield "".join(
                writer.writerow([_cell(value(row), zone) for _, value in self.export_columns])
                for row in batch
            )
            last = batch[-1]["pk"]
