from django.core.management.base import BaseCommand

from siyu.accounts.management.commands.corp import raise_command_error
from siyu.accounts.roles import Role
from siyu.accounts.services import corp_get, user_create
from siyu.core.errors import DomainError


class Command(BaseCommand):
    help = "Manage console users: `user add`."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="Create a console user in an enterprise")
        add.add_argument("--corp-id", required=True)
        add.add_argument("--username", required=True)
        add.add_argument("--password", required=True)
        add.add_argument("--role", required=True, choices=Role.values)
        add.add_argument("--employee", default=None, help="WeCom userid of the linked employee")

    def handle(self, *args, action, **opts):
        try:
            corp = corp_get(opts["corp_id"])
            user = user_create(corp=corp, username=opts["username"], password=opts["password"],
                               role=opts["role"], employee_userid=opts["employee"])
        except DomainError as exc:
            raise_command_error(exc)
        self.stdout.write(f"Created {user.role} user {user.username} in {corp.corp_id}")
