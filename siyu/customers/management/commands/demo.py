"""`siyu demo`: everything for the embedded demo in one process group.

Applies migrations, seeds the demo enterprise once, then runs the web server, the job worker
and the WeCom simulator (wired to the demo enterprise: its API calls go to the simulator, whose
random customers send callbacks to Siyu) as child processes until interrupted.
"""

import os
import signal
import subprocess
import sys
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

from siyu.accounts.models import Corp, User
from siyu.customers.demo_data import (
    CHANNEL_STATES,
    DEMO_CORP_ID,
    DEMO_PASSWORD,
    DEMO_SIMULATOR_RATE,
    wire_to_simulator,
)


class Command(BaseCommand):
    help = "Run the demo: migrate, seed the demo enterprise, start web server and worker."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("SIYU_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("SIYU_PORT", "8000")))
        parser.add_argument("--workers", type=int, default=1, help="Job worker processes")
        parser.add_argument("--no-seed", action="store_true", help="Do not create demo data")
        parser.add_argument("--simulator-port", type=int,
                            default=int(os.environ.get("SIYU_SIMULATOR_PORT", "8900")))
        parser.add_argument("--no-simulator", action="store_true",
                            help="Do not start the WeCom simulator")

    def handle(self, *args, host, port, workers, no_seed, simulator_port, no_simulator,
               **opts):
        self.stdout.write("Applying database migrations…")
        call_command("migrate", interactive=False, verbosity=0)
        if not no_seed:
            call_command("demo_seed", if_missing=True, stdout=self.stdout)
        siyu = [sys.executable, "-m", "siyu.cli"]
        children = [
            subprocess.Popen([*siyu, "serve", "--no-migrate", "--host", host, "--port",
                              str(port)]),
            subprocess.Popen([*siyu, "worker", "--processes", str(workers)]),
        ]
        simulator = not no_simulator and Corp.objects.filter(corp_id=DEMO_CORP_ID).exists()
        if simulator:
            wire_to_simulator(simulator_port)
            siyu_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
            callback_url = f"http://{siyu_host}:{port}/wecom/callback/{DEMO_CORP_ID}/"
            children.append(subprocess.Popen([
                *siyu, "wecom", "simulator", "--port", str(simulator_port),
                "--corp-id", DEMO_CORP_ID, "--mirror-corp", "--callback-url", callback_url,
                "--actions", "random", "--rate", str(DEMO_SIMULATOR_RATE),
                "--states", ",".join(CHANNEL_STATES)]))
        self._print_banner(host, port)
        if simulator:
            self.stdout.write(f"WeCom simulator: http://127.0.0.1:{simulator_port}/sim/ "
                              "(customers arrive on their own)")

        def stop(signum, frame, exit_code=0):
            for child in children:
                if child.poll() is None:
                    child.terminate()
            deadline = time.monotonic() + 10
            for child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
            sys.exit(exit_code)

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while True:
            for child in children:
                if child.poll() is not None:
                    self.stderr.write(f"A demo process exited with code {child.returncode}; "
                                      "stopping the demo.")
                    stop(None, None, exit_code=1)
            time.sleep(1)

    def _print_banner(self, host, port):
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        corp = Corp.objects.filter(corp_id=DEMO_CORP_ID).first()
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Siyu is running: http://{shown}:{port}/"))
        if corp is not None:
            users = User.objects.for_corp(corp).filter(username__startswith="demo_")
            self.stdout.write(f"Demo enterprise: {corp.name} ({corp.corp_id})")
            for user in users.order_by("id"):
                self.stdout.write(f"  {user.get_role_display():<10} {user.username} / "
                                  f"{DEMO_PASSWORD}")
        self.stdout.write(f"API docs: http://{shown}:{port}/api/docs   Stop with Ctrl+C.")
