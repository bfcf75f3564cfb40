from django.apps import AppConfig


class EntityAppConfig(AppConfig):
    name = "tests.entityapp"
    label = "entityapp"
    verbose_name = "Test entities"
