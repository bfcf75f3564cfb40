from django.urls import path

from integrations.interfaces import views, views_webhooks

app_name = "integrations"

urlpatterns = [
    path("connect/", views.connect_start, name="connect_start"),
    path("oauth/callback/", views.oauth_callback, name="oauth_callback"),
    path("agency/<int:connection_id>/locations/", views.agency_locations, name="agency_locations"),
    path("batches/<int:batch_id>/", views.mint_progress, name="mint_progress"),
    path("webhooks/highlevel/", views_webhooks.highlevel_webhook, name="highlevel_webhook"),
]
