"""The test processes run numpy's BLAS on one thread (``tests/conftest.py``): ``make test``'s two
xdist workers share two cores, and a thread per core in each worker spent several times the
CPU seconds on the same work (session 16, docs/DEVELOPING.md)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import BLAS_THREADS_ASKED


def _blas_threads() -> list[int]:
    import numpy  # noqa: F401  (loads the BLAS library threadpoolctl inspects)
    from threadpoolctl import threadpool_info

    return [int(p["num_threads"]) for p in threadpool_info() if p["user_api"] == "blas"]


@pytest.fixture
def not_asked_otherwise() -> None:
    if any(v != "1" for v in BLAS_THREADS_ASKED.values()):
        pytest.skip(f"this run asked for BLAS threads: {BLAS_THREADS_ASKED}")


@pytest.mark.usefixtures("not_asked_otherwise")
def test_blas_runs_one_thread_in_the_test_process() -> None:
    threads = _blas_threads()
    assert threads and all(n == 1 for n in threads), threads


@pytest.mark.usefixtures("not_asked_otherwise")
def test_a_process_the_tests_start_inherits_one_thread() -> None:
    code = (
        "import json, numpy; from threadpoolctl import threadpool_info as info; "
        "print(json.dumps([p['num_threads'] for p in info() if p['user_api'] == 'blas']))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    threads = json.loads(out.stdout)
    assert threads and all(n == 1 for n in threads), threads
