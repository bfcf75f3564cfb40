from django.urls import include, path

app_name = "sandbox"
urlpatterns = [path("", include("sandbox.access.urls"))]
