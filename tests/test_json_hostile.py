"""JSON detections (HTTP ingest and MQTT share the parser): inputs the live fuzzing found.

A JSON integer too large for a float raised OverflowError (HTTP 500, an MQTT
``internal_error``), and a lone surrogate escape (``"\\udc00"``) was accepted and then made the
journal writer fail the whole batch it was in. Both are refused with a reason now.
"""

from __future__ import annotations

import json

import pytest

from skywarden.core.errors import InputRejected
from skywarden.core.site import parse_site
from skywarden.sensors.json_detections import parse_json_detections

SITE = parse_site(
    {
        "name": "j",
        "origin": {"lat": 51.0, "lon": -1.0},
        "sensors": [
            {
                "id": "cam",
                "kind": "camera",
                "measures": "xyz",
                "position_enu_m": [0, 0, 5],
                "sigma": {"x_m": 4.0, "y_m": 4.0, "z_m": 6.0},
            }
        ],
    }
)
DET = '{"enu": {"e": 1.0, "n": 2.0, "u": 3.0}, "class": "drone"}'


def _parse(text: str) -> object:
    return parse_json_detections(text.encode(), SITE.sensors[0], SITE.origin)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"t": 1' + "0" * 400 + ', "detections": []}', "out_of_range"),
        ('{"t": 1e9, "detections": [{"enu": {"e": -' + "9" * 330 + ', "n": 0, "u": 0}}]}',
         "out_of_range"),
        ('{"t": 1e9, "detections": [' + DET.replace('"drone"', '"\\udc00"') + "]}", "bad_utf8"),
        ('{"t": 1e9, "x\\ud800": 1, "detections": []}', "bad_utf8"),
        ('{"t": 1e9, "detections": [' + DET.replace('"drone"', '["\\ud800"]') + "]}", "bad_utf8"),
    ],
)  # fmt: skip
def test_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(InputRejected) as e:
        _parse(text)
    assert e.value.reason == reason


def test_surrogate_pairs_and_plain_text_still_accepted() -> None:
    second = '{"enu": {"e": 5, "n": 6, "u": 7}, "note": "\\ud83d\\ude00"}'
    rep = _parse('{"t": 1e9, "detections": [' + DET + ", " + second + "]}")
    assert len(rep.detections) == 2  # type: ignore[attr-defined]
    assert json.loads('"\\ud83d\\ude00"').encode("utf-8")  # a valid pair is real text
