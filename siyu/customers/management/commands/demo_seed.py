from django.core.management.base import BaseCommand, CommandError

from siyu.accounts.models import Corp
from siyu.customers.demo_data import DEMO_CORP_ID, seed_demo


class Command(BaseCommand):
    help = "Create the demo enterprise: departments, ~30 employees, ~5,000 customers, tags."

    def add_arguments(self, parser):
        parser.add_argument("--corp-id", default=DEMO_CORP_ID)
        parser.add_argument("--customers", type=int, default=5000)
        parser.add_argument("--employees", type=int, default=30)
        parser.add_argument("--days", type=int, default=180,
                            help="Spread follow relations over this many past days")
        parser.add_argument("--if-missing", action="store_true",
                            help="Do nothing (successfully) when the demo enterprise exists")

    def handle(self, *args, corp_id, customers, employees, days, if_missing, **opts):
        if Corp.objects.filter(corp_id=corp_id).exists():
            if if_missing:
                self.stdout.write(f"Demo enterprise {corp_id} already exists.")
                return
            raise CommandError(f"Enterprise {corp_id} already exists; pick another --corp-id.")
        if employees < 3 or customers < 0 or days < 1:
            raise CommandError("Need --employees ≥ 3, --customers ≥ 0 and --days ≥ 1.")
        corp, logins = seed_demo(corp_id=corp_id, customers=customers, employees=employees,
                                 days=days, stdout=self.stdout)
        done = f"Demo enterprise {corp.name} ({corp.corp_id}) ready."
        self.stdout.write(self.style.SUCCESS(done))
        for login in logins:
            self.stdout.write(f"  {login.role:<8} {login.username} / {login.password}")
