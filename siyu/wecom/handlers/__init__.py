"""Callback handlers: each module registers functions with siyu.wecom.dispatch.handles."""
