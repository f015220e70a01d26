from django.core.management.base import BaseCommand

from siyu.accounts.management.commands.corp import raise_command_error
from siyu.accounts.services import api_token_create, corp_get
from siyu.core.errors import DomainError


class Command(BaseCommand):
    help = "Manage API tokens: `token create` prints a new bearer token (shown once)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create an API token for a user")
        create.add_argument("--corp-id", required=True)
        create.add_argument("--username", required=True)
        create.add_argument("--name", default="cli")

    def handle(self, *args, action, **opts):
        try:
            raw = api_token_create(corp=corp_get(opts["corp_id"]), username=opts["username"],
                                   name=opts["name"])
        except DomainError as exc:
            raise_command_error(exc)
        self.stdout.write(raw)
