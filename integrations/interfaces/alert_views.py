"""Each user's own alert setting (Account → Alerts)."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from portal.models import AlertSetting


class AlertSettingForm(forms.ModelForm):
    class Meta:
        model = AlertSetting
        fields = ["email_alerts"]


def alert_settings_view(request):
    setting, _ = AlertSetting.objects.get_or_create(user=request.user)
    form = AlertSettingForm(request.POST if request.method == "POST" else None, instance=setting)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Alert emails are " + ("on." if setting.email_alerts else "off."))
        return redirect("admin:alert_settings")
    context = {
        **admin.site.each_context(request),
        "title": "Alerts",
        "form": form,
        "has_email": bool(request.user.email),
    }
    return TemplateResponse(request, "portal/alert_settings.html", context)
