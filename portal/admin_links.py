"""Read-only foreign keys link to the related object's page only for who may open it.

Django's admin links every read-only foreign key (a job's "started by", a connection's "app") to
the related admin page whatever the viewer's permissions, so staff met 403s one click away. The
admin's field renderer has no request, so :class:`AdminRequestMiddleware` keeps the current one
for it; :class:`PermittedReadonlyField` then asks the related model's admin whether this viewer may
see that object (permission and location scope) and shows plain text otherwise.
"""

import contextvars

from django.contrib.admin import helpers

_REQUEST = contextvars.ContextVar("portal_admin_request", default=None)


class AdminRequestMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _REQUEST.set(request)
        try:
            return self.get_response(request)
        finally:
            _REQUEST.reset(token)


class PermittedReadonlyField(helpers.AdminReadonlyField):
    def get_admin_url(self, remote_field, remote_obj):
        request = _REQUEST.get()
        target = (
            self.model_admin.admin_site._registry.get(remote_field.model)
            if self.model_admin
            else None
        )
        if (
            request is None
            or target is None
            or not target.has_view_or_change_permission(request, remote_obj)
        ):
            return str(remote_obj)
        return super().get_admin_url(remote_field, remote_obj)


def admin_links_install():
    """Called once from the admin's AppConfig.ready()."""
    helpers.AdminReadonlyField = PermittedReadonlyField
