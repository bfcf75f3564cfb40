from django.urls import path

from sandbox.access import views_control, views_oauth

app_name = "sandbox_access"
urlpatterns = [
    path("v2/oauth/chooselocation", views_oauth.consent, name="consent"),
    path("oauth/token", views_oauth.token, name="token"),
    path("oauth/installedLocations", views_oauth.installed_locations, name="installed_locations"),
    path("oauth/locationToken", views_oauth.location_token, name="location_token"),
    path("control/faults", views_control.faults, name="faults"),
    path("control/uninstall", views_control.uninstall, name="uninstall"),
    path("control/plan", views_control.plan, name="plan"),
    path("control/locations", views_control.locations, name="locations"),
    path("control/webhook-keys", views_control.key_rotation, name="key_rotation"),
    path("webhook-keys", views_control.webhook_keys, name="webhook_keys"),
    path("webhook-keys/<str:kind>.pem", views_control.webhook_key_pem, name="webhook_key_pem"),
]
