"""`siyu wecom sweep`: re-drive stored callbacks whose dispatch was lost, once."""

from siyu.wecom.sweeper import sweep

help = ("Re-dispatch WeCom callbacks left undispatched (stored too long, failed and due for a "
        "retry, or claimed by a worker that died) and forget expired nonces. Workers do this "
        "every few seconds by themselves.")


def add_arguments(parser):
    parser.add_argument("--inline", action="store_true",
                        help="Dispatch here instead of queueing jobs for the workers.")


def handle(command, *, inline=False, **options):
    result = sweep(inline=inline)
    verb = "Dispatched" if inline else "Queued"
    command.stdout.write(f"{verb} {len(result.redriven)} callback(s); forgot "
                         f"{result.nonces_pruned} expired nonce(s).")
