"""access_tokens that expire, and WeCom's per corp per API rate limits with the block window."""

import secrets

from siyu.wecom.simulator.errors import ApiError

WINDOWS = (("minute", 60), ("hour", 3600))


class Tokens:
    """One token per secret kind, as WeCom: asking again while it is valid returns the same
    token with the seconds it has left; an expired token stays known so it answers 42001."""

    def __init__(self, clock, config):
        self.clock, self.config = clock, config
        self.tokens: dict[str, dict] = {}  # token -> {"kind", "expires"}
        self.current: dict[str, str] = {}  # kind -> token

    def issue(self, kind: str) -> tuple[str, int]:
        now = self.clock.now()
        token = self.current.get(kind)
        if token and self.tokens[token]["expires"] > now:
            return token, int(self.tokens[token]["expires"] - now)
        token = secrets.token_urlsafe(48)
        self.tokens[token] = {"kind": kind, "expires": now + self.config.token_ttl}
        self.current[kind] = token
        return token, int(self.config.token_ttl)

    def check(self, token: str | None) -> str:
        """The secret kind the token was made with; ApiError when missing, unknown or expired."""
        if not token:
            raise ApiError(41001)
        record = self.tokens.get(token)
        if record is None:
            raise ApiError(40014)
        if record["expires"] <= self.clock.now():
            raise ApiError(self.config.expired_token_errcode, "access_token expired")
        return record["kind"]

    def expire_all(self) -> int:
        now = self.clock.now()
        for record in self.tokens.values():
            record["expires"] = min(record["expires"], now)
        return len(self.tokens)

    def as_dict(self) -> dict:
        now = self.clock.now()
        return {"issued": len(self.tokens),
                "valid": {kind: round(self.tokens[t]["expires"] - now)
                          for kind, t in self.current.items()
                          if self.tokens[t]["expires"] > now}}


class RateLimiter:
    """Fixed minute and hour windows per API (the simulator is one corp). The call over a limit
    gets 45009 and blocks the API for the block time; blocked calls are not counted."""

    def __init__(self, clock, config):
        self.clock, self.config = clock, config
        self.windows: dict[tuple[str, str], list] = {}  # (api, window) -> [start, used]
        self.blocked: dict[str, float] = {}  # api -> until

    def check(self, api: str) -> None:
        now = self.clock.now()
        until = self.blocked.get(api, 0)
        if until > now:
            raise ApiError(45009, f"api blocked for {until - now:.0f}s more")
        limits = self.config.limits_for(api)
        current = []
        for name, size in WINDOWS:
            limit = limits.get(name)
            if not limit:
                continue
            start = now - now % size
            window = self.windows.get((api, name))
            if window is None or window[0] != start:
                window = self.windows[(api, name)] = [start, 0]
            if window[1] >= limit:
                block = self.config.minute_block_s if name == "minute" else self.config.hour_block_s
                self.blocked[api] = now + block
                raise ApiError(45009, f"{limit} calls per {name} reached")
            current.append(window)
        for window in current:
            window[1] += 1

    def reset(self):
        self.windows.clear()
        self.blocked.clear()

    def as_dict(self) -> dict:
        now = self.clock.now()
        used: dict[str, dict] = {}
        for (api, name), (_start, count) in self.windows.items():
            used.setdefault(api, {})[name] = count
        return {"used": used,
                "blocked": {api: round(u - now, 1) for api, u in self.blocked.items() if u > now}}
