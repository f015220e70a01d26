"""Where a welcome other than the employee's or department's default comes from.

The engagement app picks each add's welcome; a feature with welcomes of its own (acquisition's
channel live codes) registers a source in its ``ready()`` or subscribers module. A source takes
the corp and a batch of adds (``ContactAdded``) and returns ``event_key → Welcome`` for the adds
it has a welcome for; the first source that answers for an add wins over the defaults.
"""

from collections.abc import Callable, Sequence

from siyu.engagement.welcome import Welcome

Source = Callable[[object, Sequence], dict[str, Welcome]]

_sources: list[Source] = []


def register_welcome_source(source: Source) -> None:
    if source not in _sources:
        _sources.append(source)


def welcome_overrides(corp, adds: Sequence) -> dict[str, Welcome]:
    overrides: dict[str, Welcome] = {}
    for source in _sources:
        for key, welcome in source(corp, adds).items():
            overrides.setdefault(key, welcome)
    return overrides
