from django import forms

from mappings.entities import ENTITIES, FETCH


class ResyncByIdForm(forms.Form):
    """Resync a HighLevel record Rankr may not have yet: location + entity + HighLevel id."""

    location = forms.ModelChoiceField(queryset=None, label="Location")
    entity = forms.ChoiceField(
        label="Record kind", choices=lambda: [(key, ENTITIES[key].label) for key in FETCH]
    )
    ghl_id = forms.CharField(label="HighLevel id", max_length=64, strip=True)
    contact_ghl_id = forms.CharField(
        label="HighLevel contact id",
        max_length=64,
        required=False,
        strip=True,
        help_text="For tasks and notes: the contact they belong to.",
    )

    def __init__(self, *args, locations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = locations

    def clean(self):
        data = super().clean()
        fetch = FETCH.get(data.get("entity"))
        if fetch and fetch.contact_param and not data.get("contact_ghl_id"):
            self.add_error(
                "contact_ghl_id", "A task or note lives under a contact: give the contact's id."
            )
        return data
