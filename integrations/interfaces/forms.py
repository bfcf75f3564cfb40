from django import forms

from integrations.models import Connection, HighLevelApp
from integrations.sync.connections import apps_for_user
from portal.models import Agency
from portal.scoping import agencies_for_user, locations_for_user, user_sees_all_locations


class ConnectForm(forms.Form):
    app = forms.ModelChoiceField(HighLevelApp.objects.all(), label="HighLevel app")
    kind = forms.ChoiceField(choices=Connection.Kind.choices, widget=forms.HiddenInput)
    location = forms.ModelChoiceField(None, required=False, label="Location")
    agency = forms.ModelChoiceField(Agency.objects.all(), required=False, label="Agency")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Another agency's app names are its business: only the apps that may connect these.
        self.fields["app"].queryset = apps_for_user(user=user)
        self.fields["location"].queryset = locations_for_user(user).select_related("agency")
        self.fields["agency"].queryset = agencies_for_user(user)
        self.user = user

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == Connection.Kind.LOCATION and not data.get("location"):
            self.add_error("location", "Pick the location to connect.")
        if kind == Connection.Kind.AGENCY:
            if not user_sees_all_locations(self.user):
                raise forms.ValidationError(
                    "Only users who see every location may connect an agency."
                )
            if not data.get("agency"):
                self.add_error("agency", "Pick the agency to connect.")
        return data
