"""The record: an append-only journal (SQLite by default, PostgreSQL by URL), replay and reports.

Public API (``store.report`` is imported on its own: it pulls in matplotlib)::

    open_journal(url) -> Journal        append / append_many / read / records / close
    verify(url) -> VerifyResult         hash-chain check (modified, deleted, inserted records)
    RetentionPolicy, Journal.apply_retention, Journal.mark_incident
    RawMessage, TrackRecord, AlertRecord, OperatorAction, ConfigChange, TickRecord
    iter_raw / ReplayCursor             recorded raw messages for replay
    tracks_geojson / tracks_kml / detections_csv
"""

from skywarden.store.export import detections_csv, tracks_geojson, tracks_kml
from skywarden.store.integrity import VerifyResult, verify
from skywarden.store.journal import Entry, Journal, RetentionPolicy, open_journal
from skywarden.store.records import (
    AlertRecord,
    ConfigChange,
    OperatorAction,
    RawMessage,
    Record,
    RetentionRecord,
    TickRecord,
    TrackRecord,
    record_from_json,
    record_to_json,
)
from skywarden.store.replay import ReplayCursor, ReplayItem, iter_raw

__all__ = [
    "AlertRecord",
    "ConfigChange",
    "Entry",
    "Journal",
    "OperatorAction",
    "RawMessage",
    "Record",
    "ReplayCursor",
    "ReplayItem",
    "RetentionPolicy",
    "RetentionRecord",
    "TickRecord",
    "TrackRecord",
    "VerifyResult",
    "detections_csv",
    "iter_raw",
    "open_journal",
    "record_from_json",
    "record_to_json",
    "tracks_geojson",
    "tracks_kml",
    "verify",
]
