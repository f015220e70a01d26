"""The simulator's clock: wall time plus an offset that tests move forward, so that token
expiry, the 20 s welcome-code window and rate windows can be tested without sleeping."""

import time


class Clock:
    def __init__(self, offset: float = 0.0):
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> float:
        self.offset += float(seconds)
        return self.now()
