"""Callback handlers: each module registers functions with siyu.wecom.dispatch.handles."""

from siyu.wecom.handlers import chat, contact, tag  # noqa: F401  (registers the handlers)
