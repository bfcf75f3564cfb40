from django.apps import AppConfig


class RankrConfig(AppConfig):
    name = "rankr"
    verbose_name = "Rankr records"
