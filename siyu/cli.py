"""The ``siyu`` console script: a thin front for Django's management commands."""

import os
import sys

# Hyphenated spellings operators type, mapped to the management command modules.
ALIASES = {"demo-seed": "demo_seed"}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "siyu.settings")
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ALIASES:
        args[0] = ALIASES[args[0]]
    from django.core.management import execute_from_command_line

    execute_from_command_line(["siyu", *args])


if __name__ == "__main__":
    main()
