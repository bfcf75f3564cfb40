"""Web requests call HighLevel under a short total deadline (``GHL_WEB_DEADLINE_S``)."""

from django.conf import settings

from integrations.ghl.deadline import ghl_deadline


class HighLevelDeadlineMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with ghl_deadline(settings.GHL_WEB_DEADLINE_S):
            return self.get_response(request)
