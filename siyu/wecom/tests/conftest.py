import pytest


@pytest.fixture(autouse=True)
def fresh_wecom_client_state():
    """The API client keeps tokens, leased calls and unwritten call-log rows per process; a
    test must not inherit another test's (corp ids are reused after a rollback)."""
    from siyu.wecom.calllog import call_log
    from siyu.wecom.ratelimit import rate_limiter
    from siyu.wecom.tokens import token_cache

    def reset():
        call_log.discard()
        rate_limiter.reset()
        token_cache.clear()

    reset()
    yield
    reset()
