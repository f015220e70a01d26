"""`siyu wecom sweep`: return callbacks a lost job or a dead worker left behind, once."""

from siyu.wecom.sweeper import sweep

help = ("Return WeCom callbacks left behind (queued in a job that never ran them, or claimed by "
        "a worker that died) to the feeder. Workers do this every few seconds by themselves; "
        "with --inline, also dispatch every due callback here, without workers.")


def add_arguments(parser):
    parser.add_argument("--inline", action="store_true",
                        help="Dispatch every due callback here instead of leaving it to the "
                             "workers.")


def handle(command, *, inline=False, **options):
    result = sweep(inline=inline)
    command.stdout.write(f"Returned {len(result.redriven)} left-behind callback(s) to the "
                         f"feeder" + ("; dispatched the due ones here." if inline else "."))
