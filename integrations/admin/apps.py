from django import forms
from django.contrib import admin

from integrations.models import HighLevelApp
from integrations.sync.connections import apps_for_user
from portal.scoping import user_sees_all_locations


class HighLevelAppForm(forms.ModelForm):
    redirect_url = forms.URLField(
        label="redirect URL",
        max_length=500,
        assume_scheme="https",
        help_text=HighLevelApp._meta.get_field("redirect_url").help_text,
    )
    new_client_secret = forms.CharField(
        label="client secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Never shown again once saved. Leave empty to keep the stored secret.",
    )

    class Meta:
        model = HighLevelApp
        fields = [
            "name",
            "mode",
            "marketplace_host",
            "client_id",
            "app_id",
            "redirect_url",
            "scopes",
            "offered_to",
        ]

    def clean(self):
        data = super().clean()
        if data.get("new_client_secret"):
            self.instance.client_secret = data["new_client_secret"]
        return data


@admin.register(HighLevelApp)
class HighLevelAppAdmin(admin.ModelAdmin):
    """Apps are not location-owned: superusers see them all, auditors (read-only) the apps that
    connect their agencies."""

    form = HighLevelAppForm
    list_display = ["name", "mode", "marketplace_host", "client_id", "has_secret", "redirect_url"]
    list_filter = ["mode"]
    filter_horizontal = ["offered_to"]
    search_fields = ["name", "client_id"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if user_sees_all_locations(request.user):
            return qs
        return qs.filter(pk__in=apps_for_user(user=request.user).values("pk"))

    @admin.display(boolean=True, description="client secret stored")
    def has_secret(self, obj):
        return bool(obj.client_secret_encrypted)
