"""Live-stream burst: add_external_contact events for one channel live code at a fixed rate,
each needing its welcome message within WeCom's 20 s window.

    python bench/burst.py [--rate 150] [--seconds 60] [--database-url URL]

Without ``--url``/``--simulator-url`` it starts everything itself against a fresh database
(SQLite under a temporary SIYU_VAR_DIR, or with ``--database-url`` / DATABASE_URL a new database
on that PostgreSQL server, dropped afterwards): the WeCom simulator with 150 ms API latency, the
Siyu web server (``siyu serve``, gunicorn) and the job workers (``siyu worker``), configured as
in production (SIYU_DEBUG=0, keys made for the run). It creates an
enterprise wired to the simulator, 10 employees, and one channel live code over them (random
mode, a welcome text with {customer_name}); then the simulator's burst facility
(simulator/burst.py) makes customers scan that code at ``--rate`` per second for ``--seconds``,
each scan emitted at its exact scheduled time and sent to Siyu as a callback.

Figures (``name: value`` lines):

events_sent          scans the simulator emitted (add_external_contact callbacks)
customers_created    customers in Siyu's database once the events are dispatched
welcomes_received    send_welcome_msg calls the simulator accepted for those events
welcome_p50/p99/max  emit time of the event (the simulator's clock, which also stamps the
                     WelcomeCode) → the simulator accepting send_welcome_msg, in ms; this
                     includes the 150 ms latency of that call
missed_20s           events without an accepted welcome within 20 s (none at all counts)
errcode_45009        45009 answers the simulator gave, on any API
throughput_fraction  welcomes per minute of the burst / WeCom's 10,000 calls per minute
                     (150/s for 60 s with every welcome sent = 0.9)

and the settings and database used, plus diagnostics (CPU seconds per process group during the
burst, PostgreSQL's server processes being one more group; Siyu's welcome delivery outcomes;
callback retries; where the time went: event → stored by ingress → welcome sent, and when the
events whose welcome took over 5 s were emitted). The exit status is 0 when missed_20s and
errcode_45009 are 0 and throughput_fraction is at least 0.9.

With ``--url`` and ``--simulator-url`` (both already running), the enterprise is created in
the database of this process's environment (DATABASE_URL / SIYU_VAR_DIR, as the server's), and
the simulator is re-configured for it (corp id, secrets, callback URL, latency); the simulator
must have members emp001…emp010 (its default population does).
"""

import argparse
import base64
import contextlib
import os
import secrets
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.callbacks import (  # noqa: E402 (after the path set-up)
    Processes,
    free_port,
    fresh_postgres_database,
    percentile,
    setup_django,
    wait_until_up,
)
from siyu.wecom.crypto import WeComCrypto  # noqa: E402

WECOM_LIMIT_PER_MINUTE = 10_000
WINDOW_SECONDS = 20
EMPLOYEES = 10
SIM_SECRET = "bench-contact-secret"
WELCOME_TEXT = "Hello {customer_name}, thanks for joining the live stream! Ask me anything."


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=150, help="Add events per second.")
    parser.add_argument("--seconds", type=float, default=60, help="Length of the burst.")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""),
                        help="PostgreSQL server to create the fresh database on "
                             "(default: $DATABASE_URL, else SQLite in a temp dir).")
    parser.add_argument("--latency-ms", type=float, default=150,
                        help="Latency the simulator adds to every API call.")
    parser.add_argument("--url", help="A running Siyu (needs --simulator-url too).")
    parser.add_argument("--simulator-url", help="A running simulator, e.g. http://127.0.0.1:8900")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=8)
    parser.add_argument("--worker-processes", type=int, default=2,
                        help="siyu worker --processes (default: 2, one per core here).")
    parser.add_argument("--worker-threads", type=int, default=None,
                        help="siyu worker --threads (default: its own default).")
    parser.add_argument("--senders", type=int, default=64,
                        help="Concurrent callback deliveries of the simulator.")
    parser.add_argument("--drain-timeout", type=float, default=900,
                        help="Seconds to wait after the burst for Siyu to dispatch everything.")
    parser.add_argument("--department-welcome", action="store_true",
                        help="Also save the welcome text as the department's default welcome "
                             "(the fallback when the live code's own welcome is not used).")
    parser.add_argument("--keep-var-dir", action="store_true",
                        help="Keep the temporary var dir (logs, SQLite file).")
    parser.add_argument("--profile", action="store_true",
                        help="Record the workers with py-spy into the var dir (needs py-spy).")
    return parser.parse_args(argv)


# --- set-up through Django --------------------------------------------------------------------

def create_enterprise(corp_id: str, token: str, aes_key: str, api_base_url: str):
    """The enterprise, its employees emp001…emp010 and an admin; returns (corp, admin)."""
    from siyu.accounts.models import Corp
    from siyu.accounts.services import corp_create, department_upsert, employee_upsert, user_create

    corp = corp_create(corp_id=corp_id, name="Burst bench", token=token, aes_key=aes_key,
                       secret=SIM_SECRET)
    Corp.objects.filter(pk=corp.pk).update(api_base_url=api_base_url)
    corp.refresh_from_db()
    department_upsert(corp=corp, wecom_id=1, name="Live stream team")
    for i in range(1, EMPLOYEES + 1):
        employee_upsert(corp=corp, userid=f"emp{i:03d}", name=f"Host {i}",
                        department_wecom_ids=[1])
    admin = user_create(corp=corp, username="bench_admin", password=secrets.token_urlsafe(16),
                        role="admin", validate=False)
    return corp, admin


def save_department_welcome(corp, admin) -> None:
    from siyu.accounts.models import Department
    from siyu.engagement.services import welcome_template_save

    welcome_template_save(corp=corp, actor=admin, text=WELCOME_TEXT,
                          department=Department.objects.for_corp(corp).get(wecom_id=1))


def create_live_code(corp, admin):
    from siyu.accounts.models import Employee
    from siyu.acquisition.live_codes.services import live_code_create

    members = [{"employee_id": pk} for pk in
               Employee.objects.for_corp(corp).order_by("userid").values_list("pk", flat=True)]
    return live_code_create(corp=corp, actor=admin, name="Live stream burst", mode="random",
                            members=members, welcome_text=WELCOME_TEXT)


def siyu_counts(corp) -> dict:
    from django.db.models import Count

    from siyu.customers.models import Customer
    from siyu.engagement.models import WelcomeDelivery
    from siyu.wecom.models import WeComEvent

    events = dict(WeComEvent.objects.for_corp(corp).filter(change_type="add_external_contact")
                  .values_list("status").annotate(n=Count("id")))
    deliveries = dict(WelcomeDelivery.objects.for_corp(corp).values_list("status")
                      .annotate(n=Count("id")))
    reasons = Counter(WelcomeDelivery.objects.for_corp(corp).exclude(status="sent")
                      .values_list("reason", flat=True))
    return {"events": events, "customers": Customer.objects.for_corp(corp).count(),
            "deliveries": deliveries, "reasons": reasons}


def stage_delays(corp) -> dict[str, list[float]]:
    """Where the time of each add went, from Siyu's records: the event (WeCom's CreateTime,
    whole seconds) → stored by ingress, and stored → welcome accepted."""
    from siyu.engagement.models import WelcomeDelivery
    from siyu.wecom.models import WeComEvent

    events = (WeComEvent.objects.for_corp(corp).filter(change_type="add_external_contact")
              .values_list("pk", "received_at", "create_time"))
    stored, ingress = {}, []
    for pk, received_at, create_time in events:
        stored[pk] = received_at
        ingress.append((received_at.timestamp() - create_time) * 1000)
    sent = (WelcomeDelivery.objects.for_corp(corp).filter(status="sent")
            .values_list("event_id", "sent_at"))
    return {
        "ingress": ingress,
        "lane": [(at - stored[pk]).total_seconds() * 1000 for pk, at in sent if pk in stored],
    }


def call_figures(corp) -> tuple[str, str]:
    """Siyu's own log of its WeCom calls: latency spread, and the failures by message (a
    timeout or a dropped connection stalls the batch it is in)."""
    from siyu.wecom.models import ApiCall

    calls = ApiCall.objects.for_corp(corp)
    latencies = list(calls.values_list("latency_ms", flat=True))
    failures = Counter(f"{api}: {errmsg or errcode}" for api, errcode, errmsg in
                       calls.exclude(errcode=0).values_list("api", "errcode", "errmsg"))
    return spread(latencies), "; ".join(f"{m} x{n}" for m, n in failures.most_common(4)) or "none"


def spread(values: list[float]) -> str:
    if not values:
        return "none"
    return f"{percentile(values, 50):.0f} / {percentile(values, 99):.0f} / {max(values):.0f}"


def slow_window(welcomes: list[dict], started_at: float, over_s: float = 5.0) -> str:
    """When (seconds into the burst) the events whose welcome took over ``over_s`` were
    emitted: one stall shows as a narrow range, an overload as a wide one."""
    offsets = sorted(w["sent_at"] - w["delay_s"] - started_at for w in welcomes
                     if w["delay_s"] > over_s)
    if not offsets:
        return "none"
    return f"{len(offsets)} emitted {offsets[0]:.1f}-{offsets[-1]:.1f} s into the burst"


# --- CPU of the process groups ----------------------------------------------------------------

def _proc_table() -> dict[int, tuple[int, float, str]]:
    """pid → (ppid, CPU seconds, command name) of every process now."""
    ticks = os.sysconf("SC_CLK_TCK")
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                name, rest = f.read().split(" (", 1)[1].rsplit(")", 1)
                fields = rest.split()
        except (OSError, IndexError):
            continue
        table[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks, name)
    return table


def cpu_seconds(roots: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each root process and its live descendants (the bench
    itself: only its own process, its children are the others), and by PostgreSQL's server
    processes on this machine ("postgresql": they share the cores, but are nobody's child)."""
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _cpu, _name) in table.items():
        children.setdefault(ppid, []).append(pid)
    result = {}
    for name, root in roots.items():
        total, stack = 0.0, [root]
        while stack:
            pid = stack.pop()
            total += table.get(pid, (0, 0.0, ""))[1]
            if pid != os.getpid():
                stack += children.get(pid, [])
        result[name] = total
    result["postgresql"] = sum(cpu for _ppid, cpu, name in table.values() if name == "postgres")
    return result


# --- the burst --------------------------------------------------------------------------------

class Simulator:
    def __init__(self, url: str):
        self.http = httpx.Client(base_url=url.rstrip("/") + "/sim/", timeout=60)

    def get(self, path: str) -> dict:
        response = self.http.get(path)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, payload: dict) -> dict:
        response = self.http.post(path, json=payload)
        if response.status_code >= 400:
            raise SystemExit(f"The simulator refused {path}: {response.text}")
        return response.json()

    def wait_up(self, processes: Processes | None, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if processes:
                processes.check_alive()
            with contextlib.suppress(httpx.HTTPError):
                self.get("state")
                return
            time.sleep(0.2)
        raise SystemExit("The simulator did not answer in time.")


def run_burst(args, sim: Simulator, live_code, corp, roots: dict[str, int],
              processes: Processes | None) -> int:
    from django.conf import settings

    count = max(1, round(args.rate * args.seconds))
    calls_before = sim.get("calls")["per_api"]
    cpu_before = cpu_seconds(roots)
    burst = sim.post("actions/burst", {"config_id": live_code.wecom_config_id,
                                       "rate": args.rate, "count": count,
                                       "senders": args.senders})
    # Until the last scan is emitted, then until every welcome is in or nothing can come any
    # more: WeCom's window has closed for the last event and Siyu has dispatched everything.
    while True:
        time.sleep(1)
        if processes:
            processes.check_alive()
        state = next(b for b in sim.get("bursts")["bursts"] if b["id"] == burst["id"])
        if not state["running"]:
            break
    emitted_done = time.monotonic()
    cpu_welcomes = None  # CPU used until every welcome is in (or the window has closed)
    while True:
        welcomes = [w for w in sim.get("welcome-messages")["welcome_messages"]
                    if w["state"] == live_code.state]
        waited = time.monotonic() - emitted_done
        if cpu_welcomes is None and (len(welcomes) >= state["emitted"]
                                     or waited > WINDOW_SECONDS + 1):
            cpu_welcomes = cpu_seconds(roots)
        counts = siyu_counts(corp)
        pending = sum(n for status, n in counts["events"].items()
                      if status in ("stored", "dispatching", "failed"))
        if cpu_welcomes is not None and not pending:
            break
        if waited > args.drain_timeout:
            break
        time.sleep(1)
    drained_s = time.monotonic() - emitted_done
    cpu_after = cpu_seconds(roots)
    calls_after = sim.get("calls")["per_api"]

    delays_ms = [w["delay_s"] * 1000 for w in welcomes]
    in_window = sum(1 for d in delays_ms if d <= WINDOW_SECONDS * 1000)
    blocked = sum(int(c["errcodes"].get("45009", 0)) -
                  int(calls_before.get(api, {}).get("errcodes", {}).get("45009", 0))
                  for api, c in calls_after.items())
    api_calls = {api: c["total"] - calls_before.get(api, {}).get("total", 0)
                 for api, c in calls_after.items()}
    per_minute = len(welcomes) / (args.seconds / 60)
    fraction = per_minute / WECOM_LIMIT_PER_MINUTE
    missed = state["emitted"] - in_window
    last_event = state["finished_at"]
    last_welcome = max((w["sent_at"] for w in welcomes), default=last_event)

    figures = [
        ("events_sent", state["emitted"]),
        ("customers_created", counts["customers"]),
        ("welcomes_received", len(welcomes)),
        ("welcome_p50_ms", round(percentile(delays_ms, 50))),
        ("welcome_p99_ms", round(percentile(delays_ms, 99))),
        ("welcome_max_ms", round(max(delays_ms, default=float("nan")))),
        ("missed_20s", missed),
        ("errcode_45009", blocked),
        ("throughput_fraction", round(fraction, 3)),
        ("welcomes_per_minute", round(per_minute)),
        ("last_welcome_after_last_event_s", round(last_welcome - last_event, 1)),
        ("database", "postgresql" if args.database_url else "sqlite"),
        ("django_debug", "on" if settings.DEBUG else "off"),
        ("rate", args.rate), ("seconds", args.seconds), ("latency_ms", args.latency_ms),
        ("web", f"{args.web_workers} processes x {args.web_threads} threads"),
        ("worker", worker_settings(args)),
        ("cpu_cores", os.cpu_count()),
        ("burst_max_emit_lag_ms", state["max_lag_ms"]),
        ("callbacks", ", ".join(f"{k} {v}" for k, v in sorted(state["callbacks"].items()))),
        ("siyu_events", ", ".join(f"{k} {v}" for k, v in sorted(counts["events"].items()))),
        ("siyu_welcome_deliveries",
         ", ".join(f"{k} {v}" for k, v in sorted(counts["deliveries"].items()))),
        ("siyu_welcome_not_sent_reasons",
         "; ".join(f"{r or '-'} x{n}" for r, n in counts["reasons"].most_common(4)) or "none"),
        ("wecom_api_calls", ", ".join(f"{api} {n}" for api, n in sorted(api_calls.items())
                                      if n)),
    ]
    figures.append(("all_events_dispatched_after_last_event_s", round(drained_s, 1)))
    stages = stage_delays(corp)
    figures.append(("event_to_stored_p50_p99_max_ms", spread(stages["ingress"])))
    figures.append(("stored_to_welcome_p50_p99_max_ms", spread(stages["lane"])))
    figures.append(("welcomes_over_5s", slow_window(welcomes, state["started_at"])))
    latency, failures = call_figures(corp)
    figures += [("siyu_wecom_call_p50_p99_max_ms", latency), ("siyu_wecom_call_failures", failures)]
    groups = [*roots, "postgresql"] if args.database_url else list(roots)
    for name in groups:
        figures.append((f"cpu_s_{name}_until_welcomes",
                        round(cpu_welcomes[name] - cpu_before[name], 1)))
    for name in groups:
        figures.append((f"cpu_s_{name}_total", round(cpu_after[name] - cpu_before[name], 1)))
    for name, value in figures:
        print(f"{name}: {value}", flush=True)
    ok = missed == 0 and blocked == 0 and fraction >= 0.9
    return 0 if ok else 1


def worker_settings(args) -> str:
    parts = []
    if args.worker_processes:
        parts.append(f"--processes {args.worker_processes}")
    if args.worker_threads:
        parts.append(f"--threads {args.worker_threads}")
    return "siyu worker " + (" ".join(parts) or "(defaults)")


def configure_simulator(sim: Simulator, *, corp_id: str, token: str, aes_key: str,
                        callback_url: str, latency_ms: float) -> None:
    sim.post("config", {"corp_id": corp_id, "contact_secret": SIM_SECRET,
                        "callback_token": token, "aes_key": aes_key,
                        "callback_url": callback_url, "latency_ms": latency_ms,
                        "actions": "none"})


def main(argv=None) -> int:
    args = parse_args(argv)
    token = secrets.token_hex(16)
    aes_key = base64.b64encode(os.urandom(32)).decode()[:43]
    corp_id = f"wwburst{secrets.token_hex(4)}"
    crypto = WeComCrypto(token, aes_key, corp_id)
    if args.url or args.simulator_url:
        if not (args.url and args.simulator_url):
            raise SystemExit("Give both --url and --simulator-url, or neither.")
        return run_against(args, args.url.rstrip("/"), Simulator(args.simulator_url), crypto,
                           aes_key, None, {})

    with contextlib.ExitStack() as stack:
        if args.keep_var_dir or args.profile:
            var_dir = Path(tempfile.mkdtemp(prefix="siyu-burst-"))
            print(f"var_dir: {var_dir}", flush=True)
        else:
            var_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="siyu-burst-")))
        production = production_settings()
        env = {**os.environ, "SIYU_VAR_DIR": str(var_dir), "SIYU_LOG_LEVEL": "WARNING",
               "SIYU_ACCESS_LOG": "/dev/null", "DJANGO_SETTINGS_MODULE": "siyu.settings",
               **production}
        env.pop("DATABASE_URL", None)
        if args.database_url:
            env["DATABASE_URL"] = stack.enter_context(fresh_postgres_database(args.database_url))
        # This process writes the enterprise (its secrets encrypted) for the others to read.
        os.environ.update({k: env[k] for k in ("SIYU_VAR_DIR", "DJANGO_SETTINGS_MODULE",
                                               *production)})
        os.environ.pop("DATABASE_URL", None)
        if "DATABASE_URL" in env:
            os.environ["DATABASE_URL"] = env["DATABASE_URL"]
        processes = Processes(var_dir, env)
        stack.callback(processes.stop)
        processes.siyu("migrate", "--noinput")
        port, sim_port = free_port(), free_port()
        simulator = processes.start(
            "simulator", "wecom", "simulator", "--port", str(sim_port), "--employees",
            str(EMPLOYEES), "--customers", "0", "--groups", "0", "--corp-id", corp_id)
        server = processes.start("serve", "serve", "--host", "127.0.0.1", "--port", str(port),
                                 "--no-migrate", "--workers", str(args.web_workers),
                                 "--threads", str(args.web_threads))
        worker_args = ["worker", "--interval", "0.1", "--verbosity", "0"]
        if args.worker_processes:
            worker_args += ["--processes", str(args.worker_processes)]
        if args.worker_threads:
            worker_args += ["--threads", str(args.worker_threads)]
        worker = processes.start("worker", *worker_args)
        roots = {"simulator": simulator.pid, "server": server.pid, "workers": worker.pid,
                 "bench": os.getpid()}
        if args.profile:
            stack.callback(stop_profiler, start_profiler(processes, var_dir, worker.pid))
        setup_django()
        try:
            return run_against(args, f"http://127.0.0.1:{port}",
                               Simulator(f"http://127.0.0.1:{sim_port}"), crypto, aes_key,
                               processes, roots)
        finally:
            from django.db import connections

            from siyu.wecom.calllog import call_log

            call_log.flush()  # this process's own WeCom calls (the live code), while the
            connections.close_all()  # database still exists; before it is dropped


def production_settings() -> dict[str, str]:
    """Siyu as deployed: SIYU_DEBUG=0 (no query recording, as in production), with new keys
    for this run."""
    from cryptography.fernet import Fernet

    return {"SIYU_DEBUG": "0", "SIYU_SECRET_KEY": secrets.token_urlsafe(50),
            "SIYU_ENCRYPTION_KEY": Fernet.generate_key().decode()}


def start_profiler(processes: Processes, var_dir: Path, pid: int):
    import shutil
    import subprocess

    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out = var_dir / "workers.folded.txt"
    log = open(var_dir / "py-spy.log", "wb")  # noqa: SIM115 (closed with the child)
    child = subprocess.Popen([py_spy, "record", "--pid", str(pid), "--subprocesses",
                              "--rate", "100", "--gil", "--format", "raw", "--output", str(out),
                              "--nonblocking"], stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
    return child


def stop_profiler(child) -> None:
    import signal

    child.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
    child.wait(60)


def warm_up(base_url: str, crypto: WeComCrypto, args, processes: Processes | None) -> None:
    """Until every web and worker process has started (imported Django, loaded the URL
    configuration), so the burst does not share the CPU with start-up work."""
    from siyu.core.models import WorkerHeartbeat

    for _ in range(4 * args.web_workers):
        wait_until_up(base_url, crypto, processes)
    expected = args.worker_processes or 1
    deadline = time.monotonic() + 60
    while WorkerHeartbeat.objects.count() < expected and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)


def run_against(args, base_url: str, sim: Simulator, crypto: WeComCrypto, aes_key: str,
                processes: Processes | None, roots: dict[str, int]) -> int:
    if processes is None:
        setup_django()
    sim.wait_up(processes)
    configure_simulator(sim, corp_id=crypto.receive_id, token=crypto.token,
                        aes_key=aes_key, latency_ms=args.latency_ms,
                        callback_url=f"{base_url}/wecom/callback/{crypto.receive_id}/")
    corp, admin = create_enterprise(crypto.receive_id, crypto.token, aes_key,
                                    f"{sim.http.base_url}".replace("/sim/", "/cgi-bin/"))
    wait_until_up(base_url, crypto, processes)
    if args.department_welcome:
        save_department_welcome(corp, admin)
    live_code = create_live_code(corp, admin)
    return run_burst(args, sim, live_code, corp, roots, processes)


if __name__ == "__main__":
    sys.exit(main())
