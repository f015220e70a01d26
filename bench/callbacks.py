"""Callback ingress benchmark: signed, encrypted WeCom callbacks at a fixed rate.

    python bench/callbacks.py [--url http://127.0.0.1:8000] [--rate 200] [--seconds 20]
                              [--database-url URL]

Without ``--url`` it starts its own ``siyu serve`` and ``siyu worker`` on a free port against a
fresh database: SQLite under a temporary SIYU_VAR_DIR, or, with ``--database-url`` (or
DATABASE_URL in the environment), a new database created on that PostgreSQL server and dropped
afterwards. It registers a bench enterprise with ``siyu corp add`` and runs two phases:

real  POST /wecom/callback/<corp_id>/: verify, decrypt, parse, replay checks, deduplicated
      insert, dispatch enqueued after commit; the workers then dispatch every event.
bare  POST /wecom/bench-bare/<corp_id>/ (exists only with SIYU_BENCH_BARE_ENDPOINT=1): verify,
      decrypt, insert — the floor any ingress path pays.

The callbacks are ``change_external_contact`` events with ChangeType ``bench_noop`` and a unique
ExternalUserID each, so they are parsed and deduplicated exactly like real contact events. No
handler is registered for that ChangeType, so dispatch marks them "ignored": the figures cover
ingress plus the dispatch machinery (queue, claim, status), not handler work — real handlers
call WeCom, which a benchmark of ingress should not depend on. "dispatched" counts events whose
dispatch ran to an end state (dispatched or ignored).

Requests are sent open-loop on a fixed schedule (not one after another), and latency is taken
from each request's scheduled send time, so a slow server cannot hide its queueing by slowing
the sender down. Output is ``name: value`` lines; the exit status is 1 when stored or
dispatched differ from the callbacks acknowledged.

With ``--url`` (a server you started), pass ``--corp-id``, ``--token`` and ``--aes-key`` of an
enterprise registered there; stored/dispatched are counted through Django with the database
settings of this process's environment (DATABASE_URL / SIYU_VAR_DIR), like the server's.
"""

import argparse
import asyncio
import base64
import contextlib
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from siyu.wecom.crypto import WeComCrypto  # noqa: E402 (after the path set-up)

BENCH_CORP_ID = "wwbenchcallbacks"
RETRYABLE_TRANSPORT = (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError,
                       httpx.ConnectError)
CHANGE_TYPE = "bench_noop"


# --- the server under test --------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def fresh_postgres_database(url: str):
    """A new database on the server of ``url``; dropped on exit."""
    import psycopg

    name = f"siyu_bench_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(url)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Processes:
    """Children started here, each in its own process group, stopped on exit."""

    def __init__(self, log_dir: Path, env: dict):
        self.log_dir = log_dir
        self.env = env
        self.children: list[tuple[str, subprocess.Popen]] = []

    def siyu(self, *args: str) -> None:
        subprocess.run([sys.executable, "-m", "siyu.cli", *args], cwd=ROOT, env=self.env,
                       check=True, stdout=subprocess.DEVNULL)

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 (closed with the child)
        process = subprocess.Popen([sys.executable, "-m", "siyu.cli", *args], cwd=ROOT,
                                   env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.children.append((name, process))
        return process

    def check_alive(self) -> None:
        for name, process in self.children:
            if process.poll() is not None:
                tail = (self.log_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise SystemExit(f"{name} exited with {process.returncode}:\n{tail}")

    def stop(self) -> None:
        for _name, process in self.children:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for _name, process in self.children:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def wait_until_up(url: str, crypto: WeComCrypto, processes: Processes | None,
                  timeout: float = 60) -> None:
    """Until the URL verification (GET) of the bench corp answers."""
    echostr, signature, timestamp, nonce = crypto.encrypt("bench-ready")
    params = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce,
              "echostr": echostr}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if processes:
            processes.check_alive()
        with contextlib.suppress(httpx.HTTPError):
            response = httpx.get(f"{url}/wecom/callback/{crypto.receive_id}/", params=params)
            if response.status_code == 200 and response.text == "bench-ready":
                return
        time.sleep(0.3)
    raise SystemExit(f"The server at {url} did not answer URL verification in {timeout:.0f} s.")


# --- load -------------------------------------------------------------------------------------

@dataclass
class Phase:
    name: str
    path: str
    requests: list[tuple[str, bytes]] = field(default_factory=list)  # (query, body)
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)  # transport errors by type
    resent: int = 0
    send_seconds: float = 0.0

    @property
    def acked_ok(self) -> int:
        return self.statuses.get(200, 0)


def contact_xml(corp_id: str, external_userid: str, create_time: int) -> str:
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName>"
            f"<FromUserName><![CDATA[sys]]></FromUserName><CreateTime>{create_time}</CreateTime>"
            f"<MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[change_external_contact]]></Event>"
            f"<ChangeType><![CDATA[{CHANGE_TYPE}]]></ChangeType>"
            f"<UserID><![CDATA[benchuser]]></UserID>"
            f"<ExternalUserID><![CDATA[{external_userid}]]></ExternalUserID></xml>")


def prepare(phase: Phase, crypto: WeComCrypto, run: str, count: int) -> None:
    timestamp = int(time.time())
    for i in range(count):
        nonce = f"{run}-{phase.name}-{i}"
        xml = contact_xml(crypto.receive_id, f"wm{run}{phase.name}{i:07d}", timestamp)
        body, signature = crypto.encrypted_body(xml, timestamp, nonce)
        phase.requests.append((f"msg_signature={signature}&timestamp={timestamp}&nonce={nonce}",
                               body.encode()))


async def drive(phase: Phase, base_url: str, rate: float) -> None:
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=512)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.2

        async def one(i: int, query: str, body: bytes) -> None:
            scheduled = start + i / rate
            await asyncio.sleep(max(0.0, scheduled - loop.time()))
            for attempt in (1, 2):
                try:
                    response = await client.post(f"{phase.path}?{query}", content=body,
                                                 headers={"Content-Type": "text/xml"})
                    break
                except RETRYABLE_TRANSPORT as exc:
                    # A kept-alive connection the server closed meanwhile: send again, as
                    # WeCom re-sends (a duplicate is harmless).
                    if attempt == 1:
                        phase.resent += 1
                        continue
                    error = exc
                except httpx.HTTPError as exc:
                    error = exc
                kind = type(error).__name__
                phase.errors[kind] = phase.errors.get(kind, 0) + 1
                return
            phase.latencies_ms.append((loop.time() - scheduled) * 1000)
            phase.statuses[response.status_code] = phase.statuses.get(response.status_code, 0) + 1

        await asyncio.gather(*(one(i, q, b) for i, (q, b) in enumerate(phase.requests)))
        phase.send_seconds = loop.time() - start


def describe_errors(errors: dict[str, int]) -> str:
    total = sum(errors.values())
    detail = ", ".join(f"{kind} {n}" for kind, n in sorted(errors.items()))
    return f"{total} ({detail})" if total else "0"


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


# --- counting through the ORM -----------------------------------------------------------------

def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "siyu.settings")
    import django

    django.setup()


def real_counts(corp_id: str, run: str) -> dict:
    from django.db.models import Count

    from siyu.wecom.models import WeComEvent

    rows = (WeComEvent.objects.unscoped()
            .filter(corp__corp_id=corp_id, change_type=CHANGE_TYPE,
                    dedupe_key__contains=f":wm{run}real")
            .values("status").annotate(n=Count("id")))
    return {row["status"]: row["n"] for row in rows}


def bare_stored(corp_id: str, run: str) -> int:
    from siyu.wecom.models import WeComEvent

    return (WeComEvent.objects.unscoped()
            .filter(corp__corp_id=corp_id, dedupe_key__startswith=f"bench-bare:{run}-bare-")
            .count())


def wait_for_dispatch(corp_id: str, run: str, expected: int,
                      timeout: float) -> tuple[dict, float]:
    """Status counts once every stored event reached an end state (or at the timeout), and
    the seconds waited."""
    start = time.monotonic()
    while True:
        counts = real_counts(corp_id, run)
        pending = counts.get("stored", 0) + counts.get("dispatching", 0)
        stored = sum(counts.values())
        if (stored >= expected and not pending) or time.monotonic() - start > timeout:
            return counts, time.monotonic() - start
        time.sleep(0.5)



# --- main -------------------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="A running Siyu; default: start one here.")
    parser.add_argument("--rate", type=float, default=200, help="Callbacks per second.")
    parser.add_argument("--seconds", type=float, default=20, help="Length of each phase.")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""),
                        help="PostgreSQL server to create the fresh database on "
                             "(default: $DATABASE_URL, else SQLite in a temp dir).")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=8)
    parser.add_argument("--worker-processes", type=int, default=2)
    parser.add_argument("--drain-timeout", type=float, default=180,
                        help="Seconds to wait for the workers to dispatch everything.")
    parser.add_argument("--corp-id", default=BENCH_CORP_ID, help="With --url: the corp.")
    parser.add_argument("--token", default="", help="With --url: its callback token.")
    parser.add_argument("--aes-key", default="", help="With --url: its EncodingAESKey.")
    parser.add_argument("--skip-bare", action="store_true", help="Only the real endpoint.")
    parser.add_argument("--keep-var-dir", action="store_true",
                        help="Keep the temporary var dir (server and worker logs, SQLite file).")
    parser.add_argument("--workers-after-ingress", action="store_true",
                        help="Start the workers only once the real phase has been sent: "
                             "ingress without dispatch competing for the database, then the "
                             "dispatch throughput alone.")
    return parser.parse_args(argv)


def run_phases(args, base_url: str, crypto: WeComCrypto, processes: Processes | None,
               start_workers=None) -> int:
    run = secrets.token_hex(3)
    count = max(1, int(args.rate * args.seconds))
    figures: list[tuple[str, object]] = [
        ("database", "postgresql" if args.database_url else "sqlite"),
        ("rate", args.rate), ("seconds", args.seconds),
    ]
    ok = True

    real = Phase("real", f"/wecom/callback/{crypto.receive_id}/")
    prepare(real, crypto, run, count)
    asyncio.run(drive(real, base_url, args.rate))
    if start_workers is not None:
        start_workers()
    if processes:
        processes.check_alive()
    counts, waited = wait_for_dispatch(crypto.receive_id, run, real.acked_ok,
                                       args.drain_timeout)
    stored = sum(counts.values())
    dispatched = counts.get("dispatched", 0) + counts.get("ignored", 0)
    figures += [
        ("sent", count), ("achieved_rate", round(count / real.send_seconds, 1)),
        ("acked_ok", real.acked_ok),
        ("non_200", sum(n for status, n in real.statuses.items() if status != 200)),
        ("transport_errors", describe_errors(real.errors)), ("resent", real.resent),
        ("ack_p50_ms", round(percentile(real.latencies_ms, 50), 2)),
        ("ack_p99_ms", round(percentile(real.latencies_ms, 99), 2)),
        ("ack_max_ms", round(max(real.latencies_ms, default=float("nan")), 2)),
        ("stored", stored), ("dispatched", dispatched), ("failed", counts.get("failed", 0)),
        ("drain_wait_s", round(waited, 1)),
    ]
    if start_workers is not None:
        # The workers started only now: this is the dispatch throughput on its own.
        figures.append(("dispatch_rate_per_s", round(dispatched / max(waited, 0.001), 1)))
    ok &= stored == real.acked_ok == count and dispatched == stored

    if not args.skip_bare:
        bare = Phase("bare", f"/wecom/bench-bare/{crypto.receive_id}/")
        prepare(bare, crypto, run, count)
        asyncio.run(drive(bare, base_url, args.rate))
        if bare.statuses.get(404) == len(bare.requests):
            figures.append(("bare", "unavailable (start the server with "
                                    "SIYU_BENCH_BARE_ENDPOINT=1)"))
        else:
            bare_p50 = percentile(bare.latencies_ms, 50)
            bare_p99 = percentile(bare.latencies_ms, 99)
            figures += [
                ("bare_sent", count), ("bare_acked_ok", bare.acked_ok),
                ("bare_transport_errors", describe_errors(bare.errors)),
                ("bare_resent", bare.resent),
                ("bare_ack_p50_ms", round(bare_p50, 2)),
                ("bare_ack_p99_ms", round(bare_p99, 2)),
                ("bare_stored", bare_stored(crypto.receive_id, run)),
                ("ratio_p50_real_over_bare",
                 round(percentile(real.latencies_ms, 50) / bare_p50, 2)),
                ("ratio_p99_real_over_bare",
                 round(percentile(real.latencies_ms, 99) / bare_p99, 2)),
            ]
    for name, value in figures:
        print(f"{name}: {value}", flush=True)
    print(f"stored_and_dispatched_equal_sent: {'yes' if ok else 'no'}")
    return 0 if ok else 1


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.url:
        if not (args.token and args.aes_key):
            raise SystemExit("--url needs --corp-id, --token and --aes-key of a registered corp.")
        crypto = WeComCrypto(args.token, args.aes_key, args.corp_id)
        wait_until_up(args.url.rstrip("/"), crypto, None)
        setup_django()
        return run_phases(args, args.url.rstrip("/"), crypto, None)

    token = secrets.token_hex(16)
    aes_key = base64.b64encode(os.urandom(32)).decode()[:43]
    crypto = WeComCrypto(token, aes_key, BENCH_CORP_ID)
    with contextlib.ExitStack() as stack:
        if args.keep_var_dir:
            var_dir = Path(tempfile.mkdtemp(prefix="siyu-bench-"))
            print(f"var_dir: {var_dir}", flush=True)
        else:
            var_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="siyu-bench-")))
        env = {**os.environ, "SIYU_VAR_DIR": str(var_dir), "SIYU_BENCH_BARE_ENDPOINT": "1",
               "SIYU_LOG_LEVEL": "WARNING", "SIYU_ACCESS_LOG": "/dev/null",
               "DJANGO_SETTINGS_MODULE": "siyu.settings"}
        env.pop("DATABASE_URL", None)
        if args.database_url:
            env["DATABASE_URL"] = stack.enter_context(fresh_postgres_database(args.database_url))
        os.environ.update({k: env[k] for k in ("SIYU_VAR_DIR", "DJANGO_SETTINGS_MODULE")})
        os.environ.pop("DATABASE_URL", None)
        if "DATABASE_URL" in env:
            os.environ["DATABASE_URL"] = env["DATABASE_URL"]
        processes = Processes(var_dir, env)
        stack.callback(processes.stop)
        processes.siyu("migrate", "--noinput")
        processes.siyu("corp", "add", "--corp-id", BENCH_CORP_ID, "--name", "Bench",
                       "--token", token, "--aes-key", aes_key)
        port = free_port()
        processes.start("serve", "serve", "--host", "127.0.0.1", "--port", str(port),
                        "--no-migrate", "--workers", str(args.web_workers),
                        "--threads", str(args.web_threads))

        def start_workers():
            processes.start("worker", "worker", "--processes", str(args.worker_processes),
                            "--interval", "0.1", "--verbosity", "0")

        if not args.workers_after_ingress:
            start_workers()
        base_url = f"http://127.0.0.1:{port}"
        wait_until_up(base_url, crypto, processes)
        setup_django()
        try:
            return run_phases(args, base_url, crypto, processes,
                              start_workers if args.workers_after_ingress else None)
        finally:
            from django.db import connections

            connections.close_all()  # before the fresh PostgreSQL database is dropped


if __name__ == "__main__":
    sys.exit(main())
