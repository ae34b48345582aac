"""Hypothesis budget shared by the parser fuzz tests.

``make test`` runs a few hundred examples per test so the suite stays fast. The issue's
target (100,000 generated inputs per parser) runs with ``SKYWARDEN_FUZZ_EXAMPLES=25000``
(each format has four fuzz tests), e.g.::

    SKYWARDEN_FUZZ_EXAMPLES=25000 .venv/bin/python -m pytest -q tests/test_sapient_fuzz.py
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("SKYWARDEN_FUZZ_EXAMPLES", "400"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 400,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
