"""Siyu (私域): a self-hostable SCRM for WeCom external contacts."""
