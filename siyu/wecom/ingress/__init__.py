"""Callback ingress: verify, decrypt, store and schedule dispatch (``services``), and the reads of
stored callbacks for the console (``selectors``). The HTTP endpoint is ``siyu.wecom.callbacks``."""
