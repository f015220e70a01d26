"""Fan-out helpers for the async stages."""

import asyncio


def chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


async def run_all(coroutines) -> None:
    """Runs the coroutines together; the first failure cancels the others and is raised as
    itself (not wrapped in an exception group), so callers and logs see the real error."""
    try:
        async with asyncio.TaskGroup() as group:
            for coroutine in coroutines:
                group.create_task(coroutine)
    except BaseExceptionGroup as failures:
        first = failures.exceptions[0]
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None
