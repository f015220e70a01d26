"""Input parsing for the organisation pages. Forms only parse; selectors decide."""

from django import forms
from django.utils.translation import gettext_lazy as _


class EmployeeFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"), required=False, max_length=64,
        widget=forms.TextInput(attrs={"type": "search",
                                      "placeholder": _("Name, userid or mobile")}),
    )
    department = forms.TypedChoiceField(
        label=_("Department"), required=False, coerce=int, empty_value=None,
        error_messages={"invalid_choice": _("Choose a department from the list.")},
    )
    status = forms.ChoiceField(label=_("Status"), required=False)

    def __init__(self, *args, departments=(), statuses=(), **kwargs):
        """``departments``: (id, label) pairs the actor may see; ``statuses``: (value, label)."""
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = [("", _("All departments")), *departments]
        self.fields["status"].choices = [("", _("Any status")), *statuses]
