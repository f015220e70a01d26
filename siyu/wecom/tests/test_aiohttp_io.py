"""The async client's own HTTP (aiohttp): query encoding as httpx writes it, and network failures
that reach the retry logic as network errors. Its normal calls run against the simulator in
siyu/engagement/tests/test_lane.py."""

import socket

import pytest
from asgiref.sync import async_to_sync

from siyu.accounts.tests.factories import CorpFactory
from siyu.wecom.aiohttp_io import AiohttpSender, query
from siyu.wecom.client import WeComClient, WeComTransientError
from siyu.wecom.models import ApiCall
from siyu.wecom.tests.client_fakes import ClockSleep, isolated


def test_query_values_are_written_as_httpx_writes_them():
    assert query({"a": True, "b": False, "c": None, "d": 5, "e": ["x", 2]}) == [
        ("a", "true"), ("b", "false"), ("c", ""), ("d", "5"), ("e", "x"), ("e", "2")]
    assert query(None) == []


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db
def test_a_refused_connection_is_retried_then_a_transient_error():
    corp = CorpFactory(api_base_url=f"http://127.0.0.1:{closed_port()}/cgi-bin/")
    sleep = ClockSleep()

    async def run():
        client = WeComClient(corp, sleep=sleep.asleep, retry_base=1.0, max_tries=3,
                             **isolated())
        assert isinstance(client.http, AiohttpSender)
        try:
            await client.get_external_contact("wm1")
        finally:
            await client.aclose()

    with pytest.raises(WeComTransientError):
        async_to_sync(run)()
    assert sleep.waits == [1.0, 2.0]  # the base, then doubled, as for httpx errors
    refused = ApiCall.objects.for_corp(corp).filter(api="gettoken")
    assert refused.count() == 3 and all(c.errcode is None and c.errmsg for c in refused)
