from django.core.management.base import BaseCommand, CommandError

from siyu.accounts.models import Corp
from siyu.accounts.services import corp_create
from siyu.core.errors import DomainError


def raise_command_error(exc: DomainError):
    details = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.field_errors.items())
    raise CommandError(f"{exc.message} {details}".strip()) from exc


class Command(BaseCommand):
    help = "Manage enterprises (tenants): `corp add`, `corp list`."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="Register a WeCom enterprise")
        add.add_argument("--corp-id", required=True, help="WeCom CorpID")
        add.add_argument("--name", required=True)
        add.add_argument("--token", default="", help="Callback token")
        add.add_argument("--aes-key", default="", help="Callback EncodingAESKey (43 chars)")
        add.add_argument("--secret", default="", help="Customer contact (客户联系) secret")
        sub.add_parser("list", help="List enterprises")

    def handle(self, *args, action, **opts):
        if action == "add":
            try:
                corp = corp_create(corp_id=opts["corp_id"], name=opts["name"],
                                   token=opts["token"], aes_key=opts["aes_key"],
                                   secret=opts["secret"])
            except DomainError as exc:
                raise_command_error(exc)
            self.stdout.write(f"Created enterprise {corp.corp_id} ({corp.name}), id {corp.pk}")
        else:
            for corp in Corp.objects.order_by("id"):
                state = "active" if corp.is_active else "inactive"
                self.stdout.write(f"{corp.corp_id}\t{corp.name}\t{state}")
