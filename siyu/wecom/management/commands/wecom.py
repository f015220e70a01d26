"""`siyu wecom <subcommand>`: WeCom operations. Each subcommand lives in siyu/wecom/cli/<name>.py
and provides ``help``, ``add_arguments(parser)`` and ``handle(command, **options)``."""

import importlib
import pkgutil

from django.core.management.base import BaseCommand

from siyu.wecom import cli


def _subcommands():
    for info in pkgutil.iter_modules(cli.__path__):
        module = importlib.import_module(f"{cli.__name__}.{info.name}")
        if hasattr(module, "handle"):
            yield info.name, module


class Command(BaseCommand):
    help = "WeCom integration: sync, simulator and other subcommands."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        for name, module in _subcommands():
            module.add_arguments(sub.add_parser(name, help=module.help))

    def handle(self, *args, subcommand, **options):
        module = importlib.import_module(f"{cli.__name__}.{subcommand}")
        return module.handle(self, **options)
