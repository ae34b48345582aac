"""``skywarden run`` start-up imports only what serving needs.

On a loaded machine ``run`` took ~25 s to bind its ports, 17 s of it importing libasterix's
generated module through the link registry for a site with no ASTERIX link. These tests
check what is imported (in a fresh interpreter), not how long it takes: timing lives in
benchmarks, and the measured start-up times are in the change's report.
"""

from __future__ import annotations

import json
import subprocess
import sys

# heavy modules the run path must not load at start (report/PDF, vision, ASTERIX tables...)
HEAVY = (
    "asterix.generated",
    "scipy",
    "matplotlib",
    "torch",
    "onnxruntime",
    "reportlab",
    "skywarden.store.report",
    "skywarden.nodes",
    "skywarden.runtime.investigate.rerun",
)

RUN_PATH = (
    "skywarden.cli.main",
    "skywarden.runtime.config_file",
    "skywarden.runtime.live.run",
    "skywarden.runtime.live.adapters",
    "skywarden.sensors.links.registry",
)


def _loaded_after(code: str) -> list[str]:
    """The HEAVY modules present in a fresh interpreter after running ``code``."""
    listed = f"[m for m in {HEAVY!r} if m in sys.modules]"
    probe = f"{code}\nimport json, sys\nprint(json.dumps({listed}))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=300
    )
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


def test_the_run_path_and_every_link_kind_import_no_heavy_module() -> None:
    code = "\n".join(f"import {m}" for m in RUN_PATH)
    code += "\nfrom skywarden.sensors.links.registry import kinds\nkinds()"
    assert _loaded_after(code) == []


def test_asterix_tables_load_on_first_use() -> None:
    assert _loaded_after("import skywarden.sensors.asterix as a") == []
    code = "from skywarden.sensors import asterix as a\na.split_blocks(bytes([48, 0, 3]))"
    assert _loaded_after(code) == ["asterix.generated"]
