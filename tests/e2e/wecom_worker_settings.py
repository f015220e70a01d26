"""Settings of the ``siyu worker`` subprocesses in tests/e2e/test_wecom_flow.py: Siyu's own,
with the API client's waits scaled down to the simulator's (its 45009 block window is set to
the same second), so retries and blocks take moments instead of minutes."""

from siyu.settings import *  # noqa: F403

SIYU_WECOM_RETRY_BASE_SECONDS = 0.05
SIYU_WECOM_MINUTE_BLOCK_SECONDS = 1.0
SIYU_WECOM_HOUR_BLOCK_SECONDS = 2.0
