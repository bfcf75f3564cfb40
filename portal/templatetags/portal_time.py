from django import template
from django.utils import timezone
from django.utils.formats import date_format

register = template.Library()


@register.filter
def user_time(value):
    """A datetime in the user's time zone (their browser's, see TimezoneMiddleware), to the second."""
    if not value:
        return ""
    return date_format(timezone.localtime(value), "DATETIME_FORMAT")
