"""The sandbox's control panel: apps, companies, tokens (hints only), faults, webhooks."""

from django.contrib import admin, messages
from django.utils.html import format_html

from sandbox.access.models import (
    FaultRule,
    Installation,
    MarketplaceApp,
    SandboxCompany,
    SandboxLocation,
    Token,
    WebhookDelivery,
    WebhookEvent,
    WebhookKey,
)
from sandbox.access.services.lifecycle import (
    DEFAULT_PLAN_ID,
    PRO_PLAN_ID,
    LifecycleRefused,
    app_plan_change,
    app_uninstall,
    location_create,
)
from sandbox.access.services.oauth import tokens_expire
from sandbox.access.services.registry import private_token_create, sandbox_app_secret_rotate
from sandbox.access.services.signing import (
    KeyRotationRefused,
    webhook_key_announce,
    webhook_key_promote,
    webhook_keys_retire,
)
from sandbox.access.services.webhooks import webhook_deliveries_resend


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(MarketplaceApp)
class MarketplaceAppAdmin(admin.ModelAdmin):
    list_display = ["name", "client_id", "webhook_url", "created_at"]
    search_fields = ["name", "client_id"]
    readonly_fields = ["client_secret_hash"]
    actions = ["rotate_secret"]

    @admin.action(description="Generate a new client secret (shown once)")
    def rotate_secret(self, request, queryset):
        for app in queryset:
            secret = sandbox_app_secret_rotate(app_id=app.pk)
            messages.success(
                request,
                format_html(
                    "New client secret for {}: <code>{}</code> (shown once).", app.client_id, secret
                ),
            )


class SandboxLocationInline(admin.TabularInline):
    model = SandboxLocation
    extra = 0


@admin.register(SandboxCompany)
class SandboxCompanyAdmin(admin.ModelAdmin):
    list_display = ["company_id", "name"]
    inlines = [SandboxLocationInline]
    actions = ["create_location"]

    @admin.action(description="Create a new location (sends LocationCreate)")
    def create_location(self, request, queryset):
        for company in queryset:
            number = company.locations.count() + 1
            location = location_create(
                company_id=company.company_id, name=f"{company.name} location {number}"
            )
            messages.success(request, f"Created {location.location_id} in {company.company_id}.")


@admin.register(SandboxLocation)
class SandboxLocationAdmin(admin.ModelAdmin):
    list_display = ["location_id", "name", "company"]
    list_select_related = ["company"]
    search_fields = ["location_id", "name"]
    actions = ["create_private_token", "expire_tokens"]

    def save_model(self, request, obj, form, change):
        """A location added here is created as HighLevel would: with its LocationCreate event."""
        if change:
            return super().save_model(request, obj, form, change)
        created = location_create(
            company_id=obj.company.company_id,
            name=obj.name,
            location_id=obj.location_id,
            address=obj.address,
        )
        obj.pk = created.pk

    @admin.action(
        description="Create a private integration token (all of the location's app scopes)"
    )
    def create_private_token(self, request, queryset):
        for location in queryset:
            scopes = {
                scope
                for install in location.installations.select_related("app")
                for scope in install.app.scope_set
            }
            created = private_token_create(location_id=location.location_id, scopes=sorted(scopes))
            # Shown once, like HighLevel's own "copy your token now" dialog; only its hash is kept.
            messages.success(
                request,
                format_html(
                    "Private integration token for {}: <code>{}</code> (shown once).",
                    location.location_id,
                    created.value,
                ),
            )

    @admin.action(description="Expire every access token of these locations now")
    def expire_tokens(self, request, queryset):
        count = sum(tokens_expire(location_id=loc.location_id) for loc in queryset)
        messages.success(request, f"{count} tokens expired.")


@admin.register(Installation)
class InstallationAdmin(ReadOnlyAdmin):
    list_display = ["app", "company", "location", "plan_id", "installed_at"]
    list_select_related = ["app", "company", "location"]
    actions = ["uninstall", "switch_plan"]

    @admin.action(description="Switch plan, standard ⇄ pro (sends PLAN_CHANGE)")
    def switch_plan(self, request, queryset):
        for install in queryset.select_related("app", "company", "location"):
            plan_id = PRO_PLAN_ID if install.plan_id != PRO_PLAN_ID else DEFAULT_PLAN_ID
            app_plan_change(
                client_id=install.app.client_id,
                plan_id=plan_id,
                company_id=install.company.company_id,
                location_id=install.location.location_id if install.location else "",
            )
            messages.success(request, f"{install}: plan {install.plan_id or '(none)'} → {plan_id}.")

    @admin.action(description="Uninstall (sends UNINSTALL, revokes the app's tokens there)")
    def uninstall(self, request, queryset):
        for install in queryset.select_related("app", "company", "location"):
            try:
                removed = app_uninstall(
                    client_id=install.app.client_id,
                    company_id=install.company.company_id,
                    location_id=install.location.location_id if install.location else "",
                )
            except LifecycleRefused as exc:  # already removed with its agency in this batch
                messages.warning(request, str(exc))
                continue
            messages.success(request, f"Uninstalled {install} ({removed} installations removed).")


@admin.register(Token)
class TokenAdmin(ReadOnlyAdmin):
    list_display = ["kind", "hint", "user_type", "company", "location", "expires_at", "used_at"]
    list_filter = ["kind", "user_type"]
    list_select_related = ["company", "location"]
    exclude = ["token_hash"]


@admin.register(FaultRule)
class FaultRuleAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "enabled",
        "seed",
        "storm_rate",
        "error_rate",
        "latency_ms",
        "drop_rate",
        "html_rate",
        "refuse_refresh",
        "request_count",
    ]
    readonly_fields = ["request_count", "updated_at"]
    actions = ["expire_tokens", "restart_sequence"]

    @admin.action(description="Expire every access token in these rules' scope now")
    def expire_tokens(self, request, queryset):
        count = sum(tokens_expire(location_id=rule.location_id) for rule in queryset)
        messages.success(request, f"{count} tokens expired.")

    @admin.action(description="Restart the seeded sequence")
    def restart_sequence(self, request, queryset):
        queryset.update(request_count=0)


@admin.register(WebhookKey)
class WebhookKeyAdmin(ReadOnlyAdmin):
    """Rotation, per kind of the selected keys: announce a next key, sign with it, then remove
    the previous one once receivers have the new key (the control endpoint does the same)."""

    list_display = ["kind", "state", "created_at"]
    list_filter = ["kind", "state"]
    fields = ["kind", "state", "public_pem", "created_at"]  # the private half is never shown
    actions = ["announce_next", "promote_next", "retire_previous"]

    def _rotate(self, request, queryset, step, done):
        for kind in sorted(set(queryset.values_list("kind", flat=True))):
            try:
                step(kind=kind)
            except KeyRotationRefused as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, f"{kind}: {done}")

    @admin.action(description="Announce a next key (published, not signing yet)")
    def announce_next(self, request, queryset):
        self._rotate(request, queryset, webhook_key_announce, "next key published")

    @admin.action(description="Sign with the next key (the old one stays published)")
    def promote_next(self, request, queryset):
        self._rotate(request, queryset, webhook_key_promote, "signing with the next key")

    @admin.action(description="Remove the previous keys")
    def retire_previous(self, request, queryset):
        self._rotate(request, queryset, webhook_keys_retire, "previous keys removed")


class WebhookDeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    extra = 0
    can_delete = False
    readonly_fields = [
        "app",
        "url",
        "status",
        "attempts",
        "response_status",
        "error",
        "duration_ms",
        "finished_at",
    ]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "event_type", "location_id", "webhook_id"]
    list_filter = ["event_type"]
    search_fields = ["location_id", "webhook_id"]
    inlines = [WebhookDeliveryInline]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "event",
        "url",
        "status",
        "attempts",
        "response_status",
        "duration_ms",
        "finished_at",
    ]
    list_filter = ["status"]
    list_select_related = ["event"]
    actions = ["resend"]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Deliver again")
    def resend(self, request, queryset):
        count = webhook_deliveries_resend(delivery_ids=list(queryset.values_list("pk", flat=True)))
        messages.success(request, f"{count} deliveries queued.")
