"""SAPIENT ICD rules against the DSTL test-harness corpus (``../shared/data/sapient``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from skywarden.core.errors import InputRejected
from skywarden.sensors.sapient import SapientMessage, parse_json_message, parse_message

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sapient"
if not DATA.is_dir():
    DATA = Path("/work/shared/data/sapient")
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data/sapient is absent")

VALID = sorted(DATA.glob("valid/**/*.json")) if DATA.is_dir() else []
INVALID = sorted(DATA.glob("invalid/*.json")) if DATA.is_dir() else []

# Invalid harness files skywarden accepts, with the reason. Keep this list honest: a file
# listed here is one whose rule we do not (yet) enforce.
ACCEPTED_INVALID: dict[str, str] = {}


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(DATA)) for p in paths]


def test_corpus_present() -> None:
    assert len(VALID) == 83
    assert len(INVALID) == 193


@pytest.mark.parametrize("path", VALID, ids=_ids(VALID))
def test_valid_file_accepted_as_json_and_binary(path: Path) -> None:
    pm = parse_json_message(path.read_text(encoding="utf-8"), t_recv=0.0)
    again = parse_message(pm.message.SerializeToString(), t_recv=0.0)
    assert again.kind is pm.kind
    assert again.node_id == pm.node_id


@pytest.mark.parametrize("path", INVALID, ids=_ids(INVALID))
def test_invalid_file_rejected_with_reason(path: Path) -> None:
    if path.name in ACCEPTED_INVALID:
        pytest.skip(ACCEPTED_INVALID[path.name])
    text = path.read_text(encoding="utf-8")
    with pytest.raises(InputRejected) as err:
        parse_json_message(text, t_recv=0.0)
    assert err.value.reason
    if err.value.reason != "bad_json":
        # representable in protobuf: the binary path must refuse it for the same reason
        from google.protobuf import json_format

        body = json_format.Parse(text, SapientMessage()).SerializeToString()
        with pytest.raises(InputRejected) as err2:
            parse_message(body, t_recv=0.0)
        assert err2.value.reason == err.value.reason


def test_accepted_invalid_list_is_documented() -> None:
    """Every accepted invalid file is named in the module docstring too."""
    import skywarden.sensors.sapient as mod

    assert mod.__doc__ is not None
    for name in ACCEPTED_INVALID:
        assert name in mod.__doc__
