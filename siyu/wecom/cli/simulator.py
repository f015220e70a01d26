"""`siyu wecom simulator`: run the WeCom simulator (see siyu/wecom/simulator/__init__.py)."""

import asyncio

from siyu.wecom.simulator.config import SimConfig

help = "Run the local WeCom simulator: WeCom's APIs, callbacks to Siyu, an inspection page."


def add_arguments(parser):
    defaults = SimConfig()
    parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
    parser.add_argument("--port", type=int, default=8900, help="Port (default 8900).")
    parser.add_argument("--corp-id", default=defaults.corp_id, help="The simulated CorpID.")
    parser.add_argument("--secret", help="The customer-contact secret gettoken accepts "
                                         "(default: the corp's, with --mirror-corp).")
    parser.add_argument("--token", help="Callback token (default: the corp's, with "
                                        "--mirror-corp).")
    parser.add_argument("--aes-key", help="Callback EncodingAESKey (43 characters).")
    parser.add_argument("--callback-url", default="",
                        help="Where to POST callbacks, e.g. "
                             "http://127.0.0.1:8000/wecom/callback/<corp_id>/ (default: none).")
    parser.add_argument("--mirror-corp", action="store_true",
                        help="Take departments, employees, corp tags and callback settings "
                             "from the enterprise --corp-id in Siyu's database.")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--employees", type=int, default=defaults.employees)
    parser.add_argument("--customers", type=int, default=defaults.customers)
    parser.add_argument("--groups", type=int, default=defaults.groups)
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="Delay added to every API answer.")
    parser.add_argument("--actions", choices=("random", "none"), default="none",
                        help="random: customers act on their own (see --rate).")
    parser.add_argument("--rate", type=float, default=defaults.rate,
                        help="Random actions per second (default %(default)s).")
    parser.add_argument("--states", default=None,
                        help="Comma-separated channel states random customers scan with.")
    parser.add_argument("--log-level", default="warning")


def handle(command, *, host, port, mirror_corp, log_level, **options):
    from siyu.wecom.simulator.core import Simulator
    from siyu.wecom.simulator.server import bind, make_server

    config = SimConfig()
    settings = {"corp_id": options["corp_id"], "callback_url": options["callback_url"],
                "seed": options["seed"], "employees": options["employees"],
                "customers": options["customers"], "groups": options["groups"],
                "latency_ms": options["latency_ms"], "actions": options["actions"],
                "rate": options["rate"]}
    mirror = None
    if mirror_corp:
        mirror = _mirror(command, options["corp_id"], settings)
    for option, name in (("secret", "contact_secret"), ("token", "callback_token"),
                         ("aes_key", "aes_key"), ("states", "states")):
        if options.get(option):
            settings[name] = options[option]
    config.update(settings)
    sim = Simulator(config, mirror=mirror)
    sock = bind(host, port)
    server = make_server(sim, sock, log_level=log_level)
    summary = sim.state.population_summary()
    command.stdout.write(
        f"WeCom simulator for {config.corp_id} on {sim.public_url}\n"
        f"  API base URL: {sim.public_url}/cgi-bin/   inspection page: {sim.public_url}/sim/\n"
        f"  {summary['employees']} employees, {summary['customers']} customers, "
        f"{summary['groups']} groups; callbacks to {config.callback_url or '(nowhere)'}; "
        f"random actions: {config.actions}\n")
    run_loop(server.serve(sockets=[sock]))


def run_loop(main) -> None:
    """uvloop where it is installed (a burst sends the simulator hundreds of requests a
    second on the machine Siyu runs on), else asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def _mirror(command, corp_id, settings) -> dict:
    from django.core.management.base import CommandError

    from siyu.accounts.models import Corp
    from siyu.wecom.simulator.mirror import mirror_of

    corp = Corp.objects.filter(corp_id=corp_id).first()
    if corp is None:
        raise CommandError(f"No enterprise with CorpID {corp_id} in Siyu's database; drop "
                           "--mirror-corp or create it first.")
    settings.update(contact_secret=corp.contact_secret, callback_token=corp.callback_token,
                    aes_key=corp.encoding_aes_key)
    return mirror_of(corp)
