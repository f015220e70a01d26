"""Simulator settings. Every field can be changed at run time through ``POST /sim/config``."""

import dataclasses
from dataclasses import dataclass, field

# Per-API limits that differ from the default 10,000/min and 150,000/h (wecom-api.md §1).
SPECIAL_LIMITS = {
    "get_jsapi_ticket": {"hour": 400},
    "ticket/get": {"hour": 400},
    "externalcontact/add_moment_task": {"minute": 10},
}
DEFAULT_STATES = ("sim_poster", "sim_store", "sim_live", "")


@dataclass
class SimConfig:
    # The simulated enterprise and its callback settings (must match Siyu's Corp row).
    corp_id: str = "wwsimulator00000001"
    contact_secret: str = "sim-contact-secret"  # noqa: S105 - the fake corp's fake secret
    app_secret: str = "sim-app-secret"  # noqa: S105 - a fake secret for the fake app
    agent_id: int = 1000002
    callback_token: str = "simtoken"  # noqa: S105
    aes_key: str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
    callback_url: str = ""  # empty: events are recorded but not sent

    # Population (deterministic for a seed).
    seed: int = 1
    employees: int = 30
    userid_format: str = "emp{:03d}"
    customers: int = 200
    groups: int = 12

    # Behaviour and limits.
    latency_ms: float = 0.0
    token_ttl: int = 7200
    expired_token_errcode: int = 42001
    minute_limit: int = 10_000
    hour_limit: int = 150_000
    api_limits: dict = field(default_factory=lambda: {k: dict(v)
                                                     for k, v in SPECIAL_LIMITS.items()})
    minute_block_s: float = 60.0
    hour_block_s: float = 3600.0
    max_concurrency: int = 0  # concurrent calls per API before 45033; 0 = unlimited
    timeout_hang_s: float = 30.0  # how long an injected timeout keeps the request open
    welcome_code_ttl: float = 20.0
    mass_per_day: int = 1
    transfer_max_per_call: int = 100
    transfer_max_in_window: int = 2
    transfer_window_days: int = 90
    transfer_delay_s: float = 24 * 3600.0
    transfer_refuse_ratio: float = 0.0
    group_max_members: int = 200
    corp_tag_limit: int = 3000

    # Callbacks.
    callback_timeout: float = 5.0
    callback_retries: int = 3
    callback_retry_delay: float = 1.0
    duplicate_ratio: float = 0.0  # chance that an event is delivered twice
    csv_member_ratio: float = 0.3  # chance that MemChangeList uses the old comma format

    # Random customer actions.
    actions: str = "none"  # "random" or "none"
    rate: float = 0.2  # random actions per second
    states: list = field(default_factory=lambda: list(DEFAULT_STATES))

    def update(self, values: dict) -> dict:
        """Apply ``values`` (from JSON or the CLI), coercing to each field's type; returns the
        applied values. Unknown names raise ValueError naming them."""
        known = {f.name: f for f in dataclasses.fields(self)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"Unknown simulator settings: {', '.join(unknown)}.")
        applied = {}
        for name, value in values.items():
            current = getattr(self, name)
            if isinstance(current, bool):
                value = value if isinstance(value, bool) else str(value).lower() in ("1", "true")
            elif isinstance(current, int | float) and not isinstance(value, int | float):
                value = type(current)(value)
            elif isinstance(current, float):
                value = float(value)
            elif isinstance(current, list) and isinstance(value, str):
                value = [s.strip() for s in value.split(",")]
            setattr(self, name, value)
            applied[name] = value
        if self.actions not in ("none", "random"):
            raise ValueError("actions must be 'random' or 'none'.")
        return applied

    def as_dict(self) -> dict:
        data = dataclasses.asdict(self)
        for secret in ("contact_secret", "app_secret"):
            data[secret] = "***"
        return data

    def limits_for(self, api: str) -> dict:
        limits = {"minute": self.minute_limit, "hour": self.hour_limit}
        limits.update(self.api_limits.get(api, {}))
        return limits
