"""Console forms for customers. They only parse input; the rules live in validation.py and the
services, whose field errors are copied back onto the form so they show next to each field."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from siyu.customers.models import Customer
from siyu.customers.selectors import CustomerFilters

PER_PAGE_CHOICES = (20, 50, 100)


class ServiceErrorsMixin:
    def add_service_errors(self, error) -> None:
        """Shows a DomainError's field errors next to their fields (others on top)."""
        for field, messages in error.field_errors.items():
            target = field if field in self.fields else None
            for message in messages:
                self.add_error(target, message)
        if not error.field_errors:
            self.add_error(None, error.message)


class CustomerFilterForm(forms.Form):
    """The list's filter bar. Choices come from the actor's own scope, so ids of other corps
    or other employees' rows are rejected as invalid choices instead of being queried."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    tag = forms.TypedMultipleChoiceField(label=_("Tags"), required=False, coerce=int,
                                         widget=forms.CheckboxSelectMultiple)
    owner = forms.TypedChoiceField(label=_("Owner"), required=False, coerce=int,
                                   empty_value=None)
    state = forms.CharField(label=_("Channel state"), required=False, max_length=30)
    added_from = forms.DateField(label=_("Added from"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))
    added_to = forms.DateField(label=_("Added until"), required=False,
                               widget=forms.DateInput(attrs={"type": "date"}))
    include_lost = forms.BooleanField(label=_("Include lost customers"), required=False)
    per_page = forms.TypedChoiceField(label=_("Per page"), required=False, coerce=int,
                                      choices=[(n, n) for n in PER_PAGE_CHOICES],
                                      empty_value=PER_PAGE_CHOICES[0])

    def __init__(self, data, *, tags, employees):
        super().__init__(data)
        self.fields["tag"].choices = [(t.pk, f"{t.group.name} / {t.name}") for t in tags]
        self.fields["owner"].choices = [("", _("Any owner"))] + [(e.pk, e.name)
                                                                 for e in employees]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("added_from"), cleaned.get("added_to")
        if start and end and start > end:
            self.add_error("added_to", _("The end date must not be before the start date."))
        return cleaned

    def filters(self) -> CustomerFilters:
        """Filters from the valid fields only: one bad value must not hide the whole list."""
        data = getattr(self, "cleaned_data", {})
        return CustomerFilters(
            q=data.get("q") or "",
            tag_ids=tuple(data.get("tag") or ()),
            owner_id=data.get("owner"),
            state=data.get("state") or "",
            added_from=data.get("added_from"),
            added_to=data.get("added_to") if "added_to" not in self.errors else None,
            include_lost=bool(data.get("include_lost")),
        )

    def page_size(self) -> int:
        return getattr(self, "cleaned_data", {}).get("per_page") or PER_PAGE_CHOICES[0]


class CustomerForm(ServiceErrorsMixin, forms.Form):
    """Create / edit a customer's profile (A1 fields)."""

    name = forms.CharField(label=_("Name"), required=False)
    type = forms.TypedChoiceField(label=_("Type"), coerce=int, choices=Customer.Type.choices,
                                  initial=Customer.Type.WECHAT)
    gender = forms.TypedChoiceField(label=_("Gender"), coerce=int,
                                    choices=Customer.Gender.choices,
                                    initial=Customer.Gender.UNKNOWN)
    phones = forms.CharField(label=_("Phones"), required=False,
                             help_text=_("Separate several numbers with commas."))
    # Plain text fields: validation.py owns the rules and its messages are shown as they are.
    email = forms.CharField(label=_("Email"), required=False)
    birthday = forms.CharField(label=_("Birthday"), required=False,
                               widget=forms.DateInput(attrs={"type": "date"}))
    region = forms.CharField(label=_("Region"), required=False)
    company = forms.CharField(label=_("Company"), required=False)
    avatar = forms.CharField(label=_("Avatar URL"), required=False)
    unionid = forms.CharField(label=_("WeChat unionid"), required=False)
    custom_fields = forms.CharField(
        label=_("Custom fields"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One field per line, written as “name: value”."),
    )

    @classmethod
    def for_customer(cls, customer: Customer, data=None):
        initial = {
            "name": customer.name, "type": customer.type, "gender": customer.gender,
            "phones": ", ".join(customer.phones), "email": customer.email,
            "birthday": customer.birthday.isoformat() if customer.birthday else "",
            "region": customer.region, "company": customer.company, "avatar": customer.avatar,
            "unionid": customer.unionid,
            "custom_fields": "\n".join(f"{k}: {v}" for k, v in customer.custom_fields.items()),
        }
        form = cls(data, initial=initial)
        form.original_custom_fields = customer.custom_fields
        return form

    def clean_phones(self):
        # Split on separators only: "+86 139 0000 2222" is one number with spaces.
        raw = self.cleaned_data["phones"]
        return [p.strip() for p in re.split(r"[,，;；\n]+", raw) if p.strip()]

    def clean_custom_fields(self):
        fields = {}
        for number, line in enumerate(self.cleaned_data["custom_fields"].splitlines(), 1):
            if not line.strip():
                continue
            name, sep, value = line.replace("：", ":").partition(":")
            if not sep or not name.strip():
                raise forms.ValidationError(
                    _("Line %(n)d: write the field as “name: value”.") % {"n": number})
            fields[name.strip()] = value.strip()
        return fields

    def service_data(self, *, only_changed: bool) -> dict:
        """The dict the services take. An edit sends only what the user changed, so untouched
        values (e.g. numeric custom fields shown as text) are not rewritten."""
        names = self.changed_data if only_changed else list(self.fields)
        data = {name: self.cleaned_data[name] for name in names}
        original = getattr(self, "original_custom_fields", None)
        # The textarea round-trips values as text (and browsers send CRLF), so compare parsed.
        if (only_changed and original is not None and "custom_fields" in data
                and data["custom_fields"] == {k: str(v) for k, v in original.items()}):
            del data["custom_fields"]
        return data


class NoteForm(ServiceErrorsMixin, forms.Form):
    text = forms.CharField(label=_("Note"), max_length=255,
                           widget=forms.Textarea(attrs={"rows": 2}))
