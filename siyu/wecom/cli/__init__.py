"""Subcommands of `siyu wecom` (see siyu/wecom/management/commands/wecom.py)."""
