"""Evidence package: a journal segment and what was concluded from it, sealed so that any change
is found offline, and by whom and when it was sealed.

A package is a directory::

    journal_segment.jsonl   every journal record of the window, with its stored chain hash
    report.pdf, report.html the incident report of the window (``store.report``)
    investigation.json      the retrospective investigation (``skywarden investigate``)
    manifest.json           SHA-256 and size of each file above; the segment's chain anchor,
                            its last hash, the journal's chain head when sealed; signer key
                            fingerprint; time-stamping authority
    manifest.sig            Ed25519 signature over manifest.json's exact bytes
    signer.pub.pem          the signer's public key (compare its fingerprint with the one the
                            operator published: the signature binds the package to that key)
    timestamp.tsr           RFC 3161 token over SHA-256(manifest.json) (``store.timestamp``)

The segment is every record between the first and the last seq of the window (contiguous, so
its chain can be recomputed): the record before it (or the segment start) gives the
``anchor``, and ``h(seq) = link(h(seq-1), seq, body, raw)`` (``store.integrity``) must give
the stored hash of every record and, at the end, the manifest's ``range_head``. A record whose
body was edited, one deleted or inserted, a changed file, manifest, signature or timestamp:
:func:`verify_package` names which part fails.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from skywarden.store.db import Database
from skywarden.store.integrity import ZERO_HASH, link_hash, segment_start, verify_db
from skywarden.store.timestamp import TimestampError, check_token, request_token

FORMAT = "skywarden-evidence/1"
SEGMENT = "journal_segment.jsonl"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBKEY = "signer.pub.pem"
TIMESTAMP = "timestamp.tsr"


@dataclass(frozen=True)
class Segment:
    lines: tuple[str, ...]
    first_seq: int
    last_seq: int
    anchor: bytes
    range_head: bytes
    journal_head_seq: int
    journal_head: bytes
    journal_intact: bool


def export_segment(db: Database, t_from: float, t_to: float) -> Segment:
    """The records of ``[t_from, t_to]`` as a contiguous seq range, with its chain anchor."""
    lo, hi = db.query(
        "SELECT min(seq), max(seq) FROM journal WHERE t >= ? AND t <= ?", (t_from, t_to)
    )[0]
    if lo is None:
        raise ValueError(f"no journal records between {t_from} and {t_to}")
    lo, hi = int(lo), int(hi)
    rows = db.query(
        "SELECT seq, segment, t, kind, source, body, raw, hash FROM journal "
        "WHERE seq >= ? AND seq <= ? ORDER BY seq",
        (lo, hi),
    )
    seg0 = int(rows[0][1])
    before = db.query("SELECT hash, segment FROM journal WHERE seq = ?", (lo - 1,))
    if before and int(before[0][1]) == seg0:
        anchor = bytes(before[0][0])
    else:  # first record of its segment: the segment start, from the previous segment's head
        prev = db.query(
            "SELECT head_hash FROM segments WHERE segment < ? ORDER BY segment DESC LIMIT 1",
            (seg0,),
        )
        anchor = segment_start(seg0, bytes(prev[0][0]) if prev else ZERO_HASH)
    lines = []
    for seq, seg, t, kind, source, body, raw, h in rows:
        lines.append(
            json.dumps(
                {
                    "seq": int(seq),
                    "segment": int(seg),
                    "t": float(t),
                    "kind": str(kind),
                    "source": str(source),
                    "body": str(body),
                    "raw_b64": None if raw is None else base64.b64encode(bytes(raw)).decode(),
                    "hash": bytes(h).hex(),
                },
                separators=(",", ":"),
            )
        )
    res = verify_db(db)
    return Segment(
        tuple(lines),
        lo,
        hi,
        anchor,
        bytes(rows[-1][7]),
        res.head_seq,
        bytes.fromhex(res.head_hash),
        res.ok,
    )


def check_segment(lines: list[str], first_seq: int, anchor: bytes, range_head: bytes) -> list[str]:
    """Recompute the chain of an exported segment; the problems found (empty: intact)."""
    problems: list[str] = []
    h, seq_next, seg_prev = anchor, first_seq, None
    for k, line in enumerate(lines):
        try:
            r = json.loads(line)
            seq, seg, body = int(r["seq"]), int(r["segment"]), str(r["body"])
            raw = None if r["raw_b64"] is None else base64.b64decode(r["raw_b64"])
            stored = bytes.fromhex(r["hash"])
        except (ValueError, KeyError, TypeError) as e:
            problems.append(f"journal segment line {k + 1} unreadable: {e}")
            return problems
        if seq != seq_next:
            problems.append(f"journal segment: record(s) {seq_next}..{seq - 1} missing (deleted)")
        if seg_prev is not None and seg != seg_prev:
            h = segment_start(seg, h)
        seg_prev = seg
        if link_hash(h, seq, body.encode("utf-8"), raw) != stored:
            problems.append(f"journal segment: record seq {seq} altered (chain hash differs)")
        try:
            b = json.loads(body)
            if b.get("kind") != r["kind"] or float(b["t"]) != float(r["t"]):
                problems.append(f"journal segment: record seq {seq} columns differ from its body")
        except (ValueError, KeyError, TypeError, AttributeError):
            problems.append(f"journal segment: record seq {seq} body is not a record")
        h, seq_next = stored, seq + 1
    if h != range_head:
        problems.append("journal segment: its last hash is not the sealed range head")
    return problems


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_key(path: str | Path | None) -> Ed25519PrivateKey:
    """The signer's Ed25519 key (PEM, unencrypted); a fresh one when no path is given."""
    if path is None:
        return Ed25519PrivateKey.generate()
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return key


def fingerprint(pub: Ed25519PublicKey) -> str:
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def seal(
    out: Path,
    seg: Segment,
    files: dict[str, bytes],
    meta: dict[str, Any],
    key: Ed25519PrivateKey,
    tsa_url: str | None,
) -> dict[str, Any]:
    """Write ``files`` and the segment into ``out``, then the manifest, signature and timestamp."""
    out.mkdir(parents=True, exist_ok=True)
    contents = {SEGMENT: ("\n".join(seg.lines) + "\n").encode("utf-8"), **files}
    for name, data in contents.items():
        (out / name).write_bytes(data)
    pub = key.public_key()
    (out / PUBKEY).write_bytes(
        pub.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    manifest = {
        "format": FORMAT,
        **meta,
        "segment": {
            "file": SEGMENT,
            "first_seq": seg.first_seq,
            "last_seq": seg.last_seq,
            "records": len(seg.lines),
            "anchor": seg.anchor.hex(),
            "range_head": seg.range_head.hex(),
        },
        "chain_head": {
            "seq": seg.journal_head_seq,
            "hash": seg.journal_head.hex(),
            "journal_intact_when_sealed": seg.journal_intact,
        },
        "files": {n: {"sha256": _sha(d), "bytes": len(d)} for n, d in sorted(contents.items())},
        "signer": {"algorithm": "Ed25519", "key_file": PUBKEY, "fingerprint": fingerprint(pub)},
        "timestamp": {"tsa": tsa_url, "file": TIMESTAMP} if tsa_url else None,
    }
    mbytes = json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8")
    (out / MANIFEST).write_bytes(mbytes)
    (out / SIGNATURE).write_bytes(key.sign(mbytes))
    if tsa_url:
        (out / TIMESTAMP).write_bytes(request_token(tsa_url, hashlib.sha256(mbytes).digest()))
    return manifest


@dataclass(frozen=True)
class PackageCheck:
    ok: bool
    readable: bool
    problems: tuple[str, ...]
    notes: tuple[str, ...]


def verify_package(d: Path, tsa_ca: bytes | None = None) -> PackageCheck:
    """Check a package offline: manifest signature, file hashes, segment chain, timestamp."""
    notes: list[str] = []
    problems: list[str] = []
    try:
        mbytes = (d / MANIFEST).read_bytes()
        manifest = json.loads(mbytes)
        if manifest.get("format") != FORMAT:
            raise ValueError(f"format {manifest.get('format')!r}, not {FORMAT}")
    except (OSError, ValueError) as e:
        return PackageCheck(False, False, (f"no readable manifest in {d}: {e}",), ())
    try:
        pub = serialization.load_pem_public_key((d / PUBKEY).read_bytes())
        if not isinstance(pub, Ed25519PublicKey):
            raise ValueError("not an Ed25519 key")
        pub.verify((d / SIGNATURE).read_bytes(), mbytes)
        fp = fingerprint(pub)
        if fp != manifest.get("signer", {}).get("fingerprint"):
            problems.append("signer key differs from the one named in the manifest")
        notes.append(f"signature  OK, Ed25519 key sha256 {fp}")
    except (OSError, ValueError, InvalidSignature) as e:
        problems.append(f"manifest signature does not check (manifest or signature altered): {e}")
    for name, want in sorted(manifest.get("files", {}).items()):
        try:
            data = (d / name).read_bytes()
        except OSError:
            problems.append(f"{name}: missing")
            continue
        if _sha(data) != want.get("sha256") or len(data) != want.get("bytes"):
            problems.append(f"{name}: altered (SHA-256 differs from the manifest)")
    s = manifest.get("segment", {})
    try:
        lines = (d / SEGMENT).read_text(encoding="utf-8").splitlines()
        seg_problems = check_segment(
            [x for x in lines if x.strip()],
            int(s["first_seq"]),
            bytes.fromhex(s["anchor"]),
            bytes.fromhex(s["range_head"]),
        )
        problems += seg_problems
        if not seg_problems:
            notes.append(
                f"journal    seq {s['first_seq']}..{s['last_seq']} chain recomputed, "
                f"head {s['range_head'][:16]}..."
            )
    except (OSError, KeyError, ValueError) as e:
        problems.append(f"journal segment unreadable: {e}")
    ts = manifest.get("timestamp")
    if ts:
        try:
            info = check_token(
                (d / TIMESTAMP).read_bytes(), hashlib.sha256(mbytes).digest(), tsa_ca
            )
            notes.append(f"timestamp  OK, {info.gen_time.isoformat()} by {info.tsa_subject}")
        except (OSError, TimestampError) as e:
            problems.append(f"timestamp does not check: {e}")
    else:
        notes.append("timestamp  none (sealed without a time-stamping authority)")
    return PackageCheck(not problems, True, tuple(problems), tuple(notes))
