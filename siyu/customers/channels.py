"""What a relationship's State stands for, named by the feature that issued it.

WeCom hands back the ``state`` a contact way was made with; the customers app shows it in the
timeline ("Added employee X through live code “Y”") without knowing live codes. A feature that
issues states (acquisition's channel live codes) registers a namer in its ``ready()``.
"""

from collections.abc import Callable

Namer = Callable[[object, str], str]  # (corp, state) -> a name, or "" when not its state

_namers: list[Namer] = []


def register_channel_namer(namer: Namer) -> None:
    if namer not in _namers:
        _namers.append(namer)


def channel_name(corp, state: str) -> str:
    if not state:
        return ""
    for namer in _namers:
        if name := namer(corp, state):
            return name
    return ""
