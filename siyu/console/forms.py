"""Input parsing for console pages. Forms only parse; services and selectors decide."""

from django import forms
from django.utils.translation import gettext_lazy as _


class LoginForm(forms.Form):
    username = forms.CharField(
        label=_("Username"), max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True,
                                      "placeholder": _("Your console username")}),
        error_messages={"required": _("Enter your username.")},
    )
    password = forms.CharField(
        label=_("Password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password",
                                          "placeholder": _("Your password")}),
        error_messages={"required": _("Enter your password.")},
    )


class AuditFilterForm(forms.Form):
    action = forms.CharField(label=_("Action"), required=False)
    actor = forms.CharField(
        label=_("Who"), required=False, max_length=150,
        widget=forms.TextInput(attrs={"placeholder": _("Username"), "type": "search"}),
    )
    date_from = forms.DateField(label=_("From"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}),
                                error_messages={"invalid": _("Use a date like 2025-01-31.")})
    date_to = forms.DateField(label=_("To"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}),
                              error_messages={"invalid": _("Use a date like 2025-01-31.")})

    def __init__(self, *args, actions=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("All actions"))] + [(code, label) for code, label in actions]
        self.fields["action"].widget = forms.Select(choices=choices)

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

