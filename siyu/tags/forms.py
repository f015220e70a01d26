"""Input parsing for the tag pages. Names are checked by the services (length, duplicates), whose
field errors are shown next to the inputs."""

from django import forms
from django.utils.translation import gettext_lazy as _


class TagNameForm(forms.Form):
    # Not required and unbounded here on purpose: the service owns the rule and its message.
    name = forms.CharField(label=_("Name"), required=False, strip=False)
