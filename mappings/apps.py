from django.apps import AppConfig


class MappingsConfig(AppConfig):
    name = "mappings"
    verbose_name = "Mappings"

    def ready(self) -> None:
        # The door (a lower layer) masks personal data in the sync log's kept bodies by the
        # fields the entity definitions declare: hand it their names.
        from mappings.entities import entities_all
        from portal.redact import personal_keys_register

        personal_keys_register(
            name for entity in entities_all().values() for name in entity.personal_fields
        )
