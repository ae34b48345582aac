"""``skywarden verify``: a readable summary and exit 0 intact, 1 tampered, 2 missing/unreadable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from skywarden.cli.main import main
from skywarden.store.journal import open_journal
from skywarden.store.records import RawMessage


def _journal(path: Path) -> str:
    url = f"sqlite://{path}?segment_records=8"
    with open_journal(url) as j:
        j.append_many(
            [
                RawMessage(1.8e9 + i, "radar-1", "skybench/1", b"m%d" % i, {"i": i})
                for i in range(1, 21)
            ]
        )
    return str(path)


def test_intact_journal_exit_0_and_readable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = _journal(tmp_path / "j.sqlite")
    assert main(["verify", p]) == 0
    out = capsys.readouterr().out
    assert "verdict   INTACT" in out
    assert "20 in 3 segments" in out
    assert "2027-01-15 08:00:01.000 UTC" in out  # the first record's time, as a clock time
    assert "VerifyResult(" not in out


def test_tampered_journal_exit_1_names_the_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = _journal(tmp_path / "j.sqlite")
    con = sqlite3.connect(p)
    con.execute("UPDATE journal SET raw = ? WHERE seq = 12", (b"forged",))
    con.commit()
    con.close()
    assert main(["verify", p]) == 1
    out = capsys.readouterr().out
    assert "verdict   TAMPERED" in out
    assert "first bad seq 12" in out


@pytest.mark.parametrize("what", ["missing", "garbage", "other_sqlite", "directory"])
def test_missing_or_unreadable_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], what: str
) -> None:
    p = tmp_path / "j.sqlite"
    if what == "garbage":
        p.write_bytes(b"this is not a database at all" * 10)
    elif what == "other_sqlite":
        con = sqlite3.connect(p)
        con.execute("CREATE TABLE x (a)")
        con.commit()
        con.close()
    elif what == "directory":
        p.mkdir()
    before = p.read_bytes() if p.is_file() else None
    assert main(["verify", str(p)]) == 2
    out = capsys.readouterr().out
    assert "UNREADABLE" in out and "reason" in out
    if what == "missing":
        assert not p.exists()  # the verifier created nothing
    if before is not None:
        assert p.read_bytes() == before  # nor changed what it checked


def test_unreachable_postgres_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    # port 9 on loopback: nothing listens there, the connection is refused at once
    assert main(["verify", "postgresql://nobody@127.0.0.1:9/none?connect_timeout=2"]) == 2
    assert "UNREADABLE" in capsys.readouterr().out
