from django.contrib import admin
from django.utils import timezone

from integrations.interfaces.dashboard import (
    chart_svg,
    dashboard_hourly,
    dashboard_locations,
    dashboard_processes,
)


class PortalAdminSite(admin.AdminSite):
    """The admin, whose home page is the health dashboard of the user's locations."""

    site_header = "Rankr ⇄ HighLevel portal"
    site_title = "Rankr ⇄ HighLevel"
    index_title = "Control panel"
    index_template = "admin/portal_index.html"

    def get_urls(self):
        from integrations.interfaces.location_views import location_urls

        return location_urls(self) + super().get_urls()

    def index(self, request, extra_context=None):
        now = timezone.now()
        rows = dashboard_locations(user=request.user, now=now)
        context = {
            "health_rows": rows,
            "failing_count": sum(1 for row in rows if row.failing),
            "chart": chart_svg(series=dashboard_hourly(user=request.user, now=now)),
            "processes": dashboard_processes(user=request.user),
            **(extra_context or {}),
        }
        return super().index(request, extra_context=context)
