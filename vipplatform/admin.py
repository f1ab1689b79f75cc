"""Pieces the apps' admins share, for lists of a million rows."""

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.utils.functional import cached_property


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


class IndexOrderChangeList(ChangeList):
    """A list sorted by one column, as the index on it reads: ties broken by the id in the
    same direction (Django adds `-pk` whatever the direction, and a mixed direction cannot
    be read from an index: MariaDB sorts every row), and the model admin's default ordering
    not appended after a column staff chose."""

    def get_ordering(self, request, queryset):
        return super().get_ordering(request, queryset.order_by())

    def _get_deterministic_ordering(self, ordering):
        ordering = super()._get_deterministic_ordering(ordering)
        if len(ordering) > 1 and ordering[-1] == "-pk" and not str(ordering[0]).startswith("-"):
            ordering[-1] = "pk"  # Django's tie-break, in the first column's direction
        return ordering


class BigListAdmin:
    """For a model admin of a table of a million rows: the capped count, no facet counts, and
    the index-friendly ordering (mix in before `admin.ModelAdmin`)."""

    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # a count per filter choice: a scan of every row
    list_per_page = 50

    def get_changelist(self, request, **kwargs):
        return IndexOrderChangeList
