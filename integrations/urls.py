from django.urls import path

from integrations import views_webhooks

app_name = "integrations"

urlpatterns = [
    path("webhooks/highlevel/", views_webhooks.highlevel_webhook, name="highlevel_webhook"),
]
