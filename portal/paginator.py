"""Lists of big tables that never count rows.

Counting a million-row table (or a filtered slice of it) costs more than showing a page, so the
admin of every big table reads one page plus one row and knows only whether more follow:
``count`` is the rows up to the end of this page, exact on the last page. One query per page.
"""

from django.conf import settings
from django.contrib.admin.views.main import PAGE_VAR
from django.core.exceptions import BadRequest
from django.core.paginator import Page, Paginator
from django.utils.functional import cached_property


class NoCountPaginator(Paginator):
    """A paginator that reads ``page_hint``'s rows plus one instead of counting.

    ``count`` is the number of rows up to this page's end (one more when a next page exists), so
    Django offers the pages up to the next one; ``has_more`` says whether rows follow. ``page()``
    answers from the rows already read.
    """

    no_count = True

    def __init__(
        self, object_list, per_page, orphans=0, allow_empty_first_page=True, *, page_hint=1
    ):
        super().__init__(
            object_list, per_page, orphans=0, allow_empty_first_page=allow_empty_first_page
        )
        self.page_hint = max(int(page_hint), 1)

    @cached_property
    def _window(self):
        start = (self.page_hint - 1) * self.per_page
        return list(self.object_list[start : start + self.per_page + 1])

    @cached_property
    def has_more(self):
        return len(self._window) > self.per_page

    @cached_property
    def count(self):
        return (self.page_hint - 1) * self.per_page + len(self._window)

    def page(self, number):
        number = self.validate_number(number)
        if number != self.page_hint:
            return super().page(number)
        return Page(self._window[: self.per_page], number, self)


class NoCountAdminMixin:
    """ModelAdmin mixin for big tables: no ``COUNT(*)``, no "Show all", one query per page."""

    show_full_result_count = False
    list_max_show_all = 0  # "Show all" on a million rows would read them all
    list_per_page = 100

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        try:
            page_hint = max(int(request.GET.get(PAGE_VAR, 1)), 1)
        except ValueError:
            page_hint = 1
        if page_hint > settings.ADMIN_MAX_PAGE:
            # Reading page 10**9 means skipping its rows one by one: narrow the list instead.
            raise BadRequest(
                f"Lists open at most {settings.ADMIN_MAX_PAGE} pages deep: narrow this one with "
                "its filters or search (or export it)."
            )
        return NoCountPaginator(
            queryset, per_page, allow_empty_first_page=allow_empty_first_page, page_hint=page_hint
        )
