"""The HTTP side: WeCom's /cgi-bin/ paths, the /sim/ control and inspection API, the /sim/
page. Starlette on uvicorn: async, so injected latency (asyncio.sleep) costs no thread."""

import asyncio
import contextlib
import json
import socket
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from siyu.wecom.simulator import actions, page
from siyu.wecom.simulator.core import Simulator
from siyu.wecom.simulator.qr import qr_png


class WeComJSON(JSONResponse):
    """UTF-8 JSON without ASCII escapes, as WeCom answers."""

    def render(self, content) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def create_app(sim: Simulator) -> Starlette:
    async def cgi(request: Request):
        body = await request.body()
        status, data = await sim.call_api(request.path_params["path"].strip("/"),
                                          dict(request.query_params), body)
        return WeComJSON(data, status_code=status)

    async def params(request: Request) -> dict:
        body = await request.body()
        if not body.strip():
            return {}
        if request.headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded"):
            return {k: v for k, v in parse_qsl(body.decode()) if v != ""}
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("Send a JSON object.")
        return data

    def bad(message: str) -> JSONResponse:
        return WeComJSON({"error": message}, status_code=400)

    async def run_action(request: Request):
        try:
            values = await params(request)
            from_page = values.pop("_html", None)  # a button on the /sim/ page
            result = actions.run(sim, request.path_params["name"], values)
        except (ValueError, actions.ActionError) as exc:
            return bad(str(exc))
        if from_page:
            return RedirectResponse("/sim/", status_code=303)
        return WeComJSON(result)

    async def run_script(request: Request):
        """Several actions in order: {"steps": [{"action": "add_customer", ...}, ...]}."""
        try:
            steps = (await params(request)).get("steps")
        except ValueError as exc:
            return bad(str(exc))
        if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
            return bad('Send {"steps": [{"action": name, ...parameters}, ...]}.')
        results = []
        for number, step in enumerate(steps, 1):
            values = dict(step)
            try:
                results.append(actions.run(sim, values.pop("action", ""), values))
            except actions.ActionError as exc:
                return bad(f"Step {number} failed ({number - 1} done before it): {exc}")
        return WeComJSON({"results": results})

    async def faults(request: Request):
        if request.method == "DELETE":
            sim.faults.clear()
        elif request.method == "POST":
            try:
                values = await params(request)
                rule = sim.faults.add(**values)
            except (ValueError, TypeError) as exc:
                return bad(str(exc))
            return WeComJSON(rule)
        return WeComJSON({"rules": sim.faults.rules, "fired": sim.faults.fired})

    async def config(request: Request):
        if request.method == "POST":
            try:
                values = await params(request)
                from_page = values.pop("_html", None)
                applied = sim.config.update(values)
            except (ValueError, TypeError) as exc:
                return bad(str(exc))
            if from_page:
                return RedirectResponse("/sim/", status_code=303)
            return WeComJSON({"applied": applied, "config": sim.config.as_dict()})
        return WeComJSON(sim.config.as_dict())

    async def callbacks(request: Request):
        limit = int(request.query_params.get("limit", 200))
        xml = request.query_params.get("xml") == "1"
        return WeComJSON({"counts": sim.sender.counts(),
                          "callbacks": sim.sender.as_list(limit, include_xml=xml)})

    async def callbacks_control(request: Request):
        command = request.path_params["command"]
        try:
            values = await params(request)
            if command == "hold":
                sim.sender.hold()
                return WeComJSON({"holding": True})
            if command == "release":
                return WeComJSON({"released": sim.sender.release(values.get("order", "fifo"))})
            if command == "verify":
                return WeComJSON(await sim.sender.verify_url())
            if command == "wait":
                idle = await sim.sender.wait_idle(float(values.get("timeout", 30)))
                return WeComJSON({"idle": idle, "counts": sim.sender.counts()})
        except ValueError as exc:
            return bad(str(exc))
        return bad("Use hold, release, wait or verify.")

    async def qr_image(request: Request):
        """A real QR code (PNG) of a contact or join way, as WeCom's ``qr_code`` is: it
        encodes this simulator's /sim/scan/ URL, so opening it (a phone's camera, a test)
        performs the scan."""
        config_id = request.path_params["config_id"]
        if not sim.way_exists(config_id):
            return WeComJSON({"error": f"No contact or join way {config_id!r}."},
                             status_code=404)
        return Response(qr_png(sim.scan_url(config_id)), media_type="image/png")

    async def scan(request: Request):
        """Someone scanned the QR code: a new customer adds a member of the contact way, or a
        customer joins the join way's group. JSON with ``?format=json``, else a small page."""
        config_id = request.path_params["config_id"]
        try:
            result = actions.scan_way(sim, config_id)
        except actions.ActionError as exc:
            if request.query_params.get("format") == "json":
                return bad(str(exc))
            return HTMLResponse(page.render_scan(sim, config_id, None, str(exc)),
                                status_code=400)
        if request.query_params.get("format") == "json":
            return WeComJSON(result)
        return HTMLResponse(page.render_scan(sim, config_id, result, ""))

    def listing(getter):
        async def endpoint(request: Request):
            return WeComJSON(getter())
        return endpoint

    def state():
        return sim.state

    routes = [
        Route("/cgi-bin/{path:path}", cgi, methods=["GET", "POST"]),
        Route("/sim", lambda r: RedirectResponse("/sim/")),
        Route("/sim/", lambda r: HTMLResponse(page.render(sim))),
        Route("/sim/qr/{config_id}", qr_image),
        Route("/sim/scan/{config_id}", scan),
        Route("/sim/ways/{config_id}", lambda r: HTMLResponse(
            page.render_way(sim, r.path_params["config_id"]))),
        Route("/sim/state", listing(sim.summary)),
        Route("/sim/population", listing(sim.population)),
        Route("/sim/welcome-messages", listing(lambda: {"welcome_messages":
                                                        state().welcome_messages})),
        Route("/sim/tag-marks", listing(lambda: {"tag_marks": state().tag_marks})),
        Route("/sim/calls", listing(sim.calls.as_dict)),
        Route("/sim/contact-ways", listing(lambda: {
            "contact_ways": list(state().contact_ways.values()),
            "join_ways": list(state().join_ways.values())})),
        Route("/sim/templates", listing(lambda: {
            "msg_templates": list(state().msg_templates.values()),
            "group_welcome_templates": list(state().group_welcome_templates.values()),
            "moments": list(state().moments.values())})),
        Route("/sim/transfers", listing(lambda: {"transfers": list(state().transfers.values())})),
        Route("/sim/remarks", listing(lambda: {"remarks": state().remarks})),
        Route("/sim/callbacks", callbacks),
        Route("/sim/bursts", listing(lambda: {"bursts": sim.bursts.as_list()})),
        Route("/sim/callbacks/{command}", callbacks_control, methods=["POST"]),
        Route("/sim/actions", run_script, methods=["POST"]),
        Route("/sim/actions/{name}", run_action, methods=["POST"]),
        Route("/sim/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/sim/config", config, methods=["GET", "POST"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await sim.sender.start()
        loop_task = asyncio.create_task(actions.random_loop(sim))
        try:
            yield
        finally:
            loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop_task
            await sim.bursts.stop()
            await sim.sender.stop()

    return Starlette(routes=routes, lifespan=lifespan,
                     exception_handlers={404: lambda r, e: WeComJSON(
                         {"error": f"No simulator page at {r.url.path}."}, status_code=404)})

def bind(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP, not the default 0: asyncio turns Nagle's algorithm off only on connections
    # it knows are TCP; with it on, each answer waits ~40 ms for the caller's delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def make_server(sim: Simulator, sock: socket.socket, *, log_level: str = "warning"):
    host, port = sock.getsockname()[:2]
    sim.public_url = f"http://{host}:{port}"
    config = uvicorn.Config(create_app(sim), log_level=log_level, access_log=False,
                            timeout_graceful_shutdown=1, lifespan="on")
    return uvicorn.Server(config)
