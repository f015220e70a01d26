"""The simulator for tests: ``running_simulator(**settings)`` starts it on a free port in a
background thread (its own event loop) and stops it cleanly; the object it yields has
``base_url`` (".../cgi-bin/", what Corp.api_base_url takes), ``root_url`` and ``control`` (the
/sim/ API as methods). ``simulator`` is the in-process Simulator, for assertions only.

    with running_simulator(corp_id=corp.corp_id, callback_url=url, seed=3) as sim:
        code = sim.control.add_customer("emp001", state="poster")
        code.external_userid, sim.control.welcome_messages()
"""

import asyncio
import contextlib
import threading
import time

import httpx

from siyu.wecom.simulator.config import SimConfig
from siyu.wecom.simulator.core import Simulator
from siyu.wecom.simulator.server import bind, make_server


class SimulatorError(Exception):
    """A /sim/ control call was refused (the message says why)."""


class WelcomeCode(str):
    """The WelcomeCode of an add event ("" when none was issued), carrying the event's ids."""

    def __new__(cls, result: dict):
        code = super().__new__(cls, result.get("welcome_code") or "")
        code.userid = result["userid"]
        code.external_userid = result["external_userid"]
        code.state = result.get("state", "")
        code.callback_id = result.get("callback_id")
        return code


class SimulatorControl:
    def __init__(self, root_url: str):
        self.http = httpx.Client(base_url=f"{root_url}/sim/", timeout=60)

    def close(self):
        self.http.close()

    def _call(self, method: str, path: str, **kwargs) -> dict:
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise SimulatorError(response.json().get("error", response.text))
        return response.json()

    def action(self, name: str, /, **params) -> dict:
        # Positional-only, so that actions may take a parameter called ``name``.
        return self._call("POST", f"actions/{name}",
                          json={k: v for k, v in params.items() if v is not None})

    # -- customers and employees ------------------------------------------------------------
    def add_customer(self, userid=None, state="", **options) -> WelcomeCode:
        return WelcomeCode(self.action("add_customer", userid=userid, state=state, **options))

    def scan_contact_way(self, config_id=None, state=None, **options) -> WelcomeCode:
        return WelcomeCode(self.action("scan_contact_way", config_id=config_id, state=state,
                                       **options))

    def burst(self, config_id=None, state=None, *, rate: float, seconds: float | None = None,
              count: int | None = None, senders: int | None = None) -> dict:
        """Starts a burst of scans (simulator/burst.py) and returns at once."""
        return self.action("burst", config_id=config_id, state=state, rate=rate,
                           seconds=seconds, count=count, senders=senders)

    def bursts(self) -> list[dict]:
        return self._call("GET", "bursts")["bursts"]

    def delete_customer(self, userid=None, external_userid=None, **options) -> dict:
        return self.action("delete_customer", userid=userid, external_userid=external_userid,
                           **options)

    def customer_deletes_employee(self, userid=None, external_userid=None, **options) -> dict:
        return self.action("customer_deletes_employee", userid=userid,
                           external_userid=external_userid, **options)

    def edit_customer(self, userid=None, external_userid=None, **options) -> dict:
        return self.action("edit_customer", userid=userid, external_userid=external_userid,
                           **options)

    def join_group(self, chat_id=None, external_userid=None, join_scene=3, member_format=None,
                   **options) -> dict:
        return self.action("join_group", chat_id=chat_id, external_userid=external_userid,
                           join_scene=join_scene, member_format=member_format, **options)

    def quit_group(self, chat_id=None, userid=None, quit_scene=0, member_format=None,
                   **options) -> dict:
        return self.action("quit_group", chat_id=chat_id, userid=userid, quit_scene=quit_scene,
                           member_format=member_format, **options)

    def create_group(self, owner=None, name=None, external_userid=None) -> dict:
        return self.action("create_group", owner=owner, name=name,
                           external_userid=external_userid)

    def dismiss_group(self, chat_id=None) -> dict:
        return self.action("dismiss_group", chat_id=chat_id)

    def edit_tags(self, op="create", tag_type="tag", **options) -> dict:
        return self.action("edit_tags", op=op, tag_type=tag_type, **options)

    def confirm_mass_message(self, msgid, userid=None) -> int:
        return self.action("confirm_mass_message", msgid=msgid, userid=userid)["sent"]

    def confirm_moment(self, moment_id, userid=None) -> int:
        return self.action("confirm_moment", moment_id=moment_id, userid=userid)["published"]

    def login_code(self, userid) -> str:
        return self.action("login_code", userid=userid)["code"]

    # -- behaviour --------------------------------------------------------------------------
    def configure(self, **settings) -> dict:
        return self._call("POST", "config", json=settings)["config"]

    def set_latency(self, ms: float) -> None:
        self.configure(latency_ms=ms)

    def inject_faults(self, api="*", errcode=-1, count=1, probability=None,
                      timeout=False) -> dict:
        return self._call("POST", "faults", json={
            "api": api, "errcode": errcode, "count": None if probability else count,
            "probability": probability, "timeout": timeout})

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def expire_tokens(self) -> int:
        return self.action("expire_tokens")["expired"]

    def advance_clock(self, seconds: float) -> float:
        return self.action("advance_clock", seconds=seconds)["now"]

    def reset_limits(self) -> None:
        self.action("reset_limits")

    # -- callbacks --------------------------------------------------------------------------
    def hold_callbacks(self) -> None:
        self._call("POST", "callbacks/hold")

    def release_callbacks(self, order="fifo") -> int:
        return self._call("POST", "callbacks/release", json={"order": order})["released"]

    def verify_callback_url(self) -> dict:
        """WeCom's GET URL verification against the configured callback URL."""
        return self._call("POST", "callbacks/verify")

    def run_script(self, steps: list[dict]) -> list[dict]:
        """[{"action": "add_customer", "userid": "emp001"}, ...] run in order."""
        return self._call("POST", "actions", json={"steps": steps})["results"]

    def wait_callbacks(self, timeout: float = 30) -> bool:
        """Wait until every queued callback has been delivered or given up."""
        return self._call("POST", "callbacks/wait", json={"timeout": timeout})["idle"]

    def callbacks(self, xml: bool = False, limit: int = 200) -> list[dict]:
        return self._call("GET", "callbacks",
                          params={"xml": int(xml), "limit": limit})["callbacks"]

    # -- what the simulator received --------------------------------------------------------
    def welcome_messages(self) -> list[dict]:
        return self._call("GET", "welcome-messages")["welcome_messages"]

    def tag_marks(self) -> list[dict]:
        return self._call("GET", "tag-marks")["tag_marks"]

    def calls(self) -> dict:
        return self._call("GET", "calls")

    def contact_ways(self) -> dict:
        return self._call("GET", "contact-ways")

    def templates(self) -> dict:
        return self._call("GET", "templates")

    def transfers(self) -> list[dict]:
        return self._call("GET", "transfers")["transfers"]

    def population(self) -> dict:
        return self._call("GET", "population")

    def state(self) -> dict:
        return self._call("GET", "state")


class RunningSimulator:
    def __init__(self, simulator: Simulator, server, thread: threading.Thread):
        self.simulator, self._server, self._thread = simulator, server, thread
        self.config = simulator.config
        self.root_url = simulator.public_url
        self.base_url = f"{self.root_url}/cgi-bin/"
        self.control = SimulatorControl(self.root_url)

    def stop(self, timeout: float = 10) -> None:
        self.control.close()
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError("The simulator did not stop in time.")


def start_simulator(*, host: str = "127.0.0.1", port: int = 0, mirror: dict | None = None,
                    **settings) -> RunningSimulator:
    config = SimConfig()
    config.update(settings)
    sim = Simulator(config, mirror=mirror)
    sock = bind(host, port)
    server = make_server(sim, sock)
    failure: list[BaseException] = []

    def serve():
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # reported to the starting thread
            failure.append(exc)
        finally:
            sock.close()

    thread = threading.Thread(target=serve, name="wecom-simulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if failure or not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"The simulator did not start: {failure or 'timeout'}")
        time.sleep(0.01)
    return RunningSimulator(sim, server, thread)


@contextlib.contextmanager
def running_simulator(**settings):
    running = start_simulator(**settings)
    try:
        yield running
    finally:
        running.stop()
