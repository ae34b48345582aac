"""Alerts in words a person reads at a glance (a phone's notification, the household page).

"drone, 1.2 km north-west, about 45 s: take shelter". Distance and direction are from the site
origin (the house) to the object, horizontally; the action depends on the level only. Kept
apart from the operator's wording (reasons, track ids), which is for the console.
"""

from __future__ import annotations

import math

COMPASS = (
    "north",
    "north-east",
    "east",
    "south-east",
    "south",
    "south-west",
    "west",
    "north-west",
)
ACTION = {"alert": "take shelter", "warning": "be ready to go indoors", "clear": "nothing to do"}


def compass(bearing_deg: float) -> str:
    """Eight-point compass word for a bearing clockwise from north."""
    return COMPASS[int(((bearing_deg % 360.0) + 22.5) // 45.0) % 8]


def distance_words(m: float) -> str:
    return f"{m / 1000:.1f} km" if m >= 1000 else f"{round(m / 10) * 10:.0f} m"


def warning_sentence(
    object_class: str,
    level: str,
    en: tuple[float, float] | None,
    time_to_enter_s: float | None,
) -> str:
    """One sentence: what, where from the house, how soon, what to do."""
    words = [object_class.replace("_", " ")]
    if en is not None:
        brg = math.degrees(math.atan2(en[0], en[1])) % 360.0
        words.append(f"{distance_words(math.hypot(*en))} {compass(brg)}")
    tte = time_to_enter_s
    if tte is not None:
        words.append("over the property" if tte <= 0 else f"about {tte:.0f} s")
    return ", ".join(words) + f": {ACTION.get(level, ACTION['warning'])}"
