"""A local fake WeCom: the server APIs Siyu calls (real paths, shapes, errcodes and limits),
encrypted callbacks sent to Siyu for scripted or random customer actions, fault injection and an
inspection API/page. Used by the demo, the tests and the benchmarks.

Start it with ``siyu wecom simulator`` or, from tests, ``siyu.wecom.simulator.testing``.
Choices where WeCom's real behaviour is not documented are listed in ``errors.py``.
"""

# Registers actions kept in their own module (they import actions.py, so they cannot be
# imported from it).
from siyu.wecom.simulator import join_ways  # noqa: F401
