"""Injected failures: the next N calls of an API (or of every API, "*") answer an errcode or hang
like a timeout, or each call fails with a probability."""

import random


class Faults:
    def __init__(self, seed: int = 0):
        self.rules: list[dict] = []
        self.rng = random.Random(seed)
        self.fired = 0

    def add(self, *, api: str = "*", errcode: int | None = -1, count: int | None = 1,
            probability: float | None = None, timeout: bool = False) -> dict:
        if count is None and probability is None:
            raise ValueError("Give count (the next N calls) or probability.")
        if count is not None and int(count) < 1:
            raise ValueError("count must be at least 1.")
        if probability is not None and not 0 < float(probability) <= 1:
            raise ValueError("probability must be in (0, 1].")
        rule = {"api": api, "errcode": None if timeout else int(errcode if errcode is not None
                                                                   else -1),
                "timeout": bool(timeout),
                "count": None if probability is not None else int(count),
                "probability": None if probability is None else float(probability)}
        self.rules.append(rule)
        return rule

    def clear(self):
        self.rules.clear()

    def take(self, api: str) -> dict | None:
        """The rule that fires for this call, if any (a counted rule is used up)."""
        for rule in self.rules:
            if rule["api"] not in ("*", api):
                continue
            if rule["count"] is not None:
                rule["count"] -= 1
                if rule["count"] <= 0:
                    self.rules.remove(rule)
                self.fired += 1
                return rule
            if self.rng.random() < rule["probability"]:
                self.fired += 1
                return rule
        return None
