"""Evidence package: sealed with an Ed25519 signature and an RFC 3161 timestamp from ``openssl ts``
acting as a local time-stamping authority, verified offline, then altered part by part and
refused each time with the part named.

The test makes its own CA and TSA certificates with ``openssl`` and serves ``openssl ts
-reply`` over HTTP on loopback; the journal is 30 s of the simulated residence recorded offline.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from skywarden.cli.main import main
from skywarden.runtime.live.feeds import simulated_feed
from skywarden.runtime.offline.record_feed import record_feed
from skywarden.store.evidence import check_segment
from skywarden.store.journal import open_journal

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="openssl binary not installed")
T0 = 1_770_000_000.0

TSA_CNF = """
[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
dir = {dir}
serial = $dir/tsaserial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _ssl(*args: str, cwd: Path) -> None:
    assert OPENSSL is not None
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(URL, directory with ca.pem and tsa.pem) of an ``openssl ts`` TSA on loopback."""
    d = tmp_path_factory.mktemp("tsa")
    _ssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=skywarden test CA",
        cwd=d,
    )
    _ssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "tsa.key",
        "-out",
        "tsa.csr",
        "-subj",
        "/CN=skywarden test TSA",
        cwd=d,
    )
    (d / "ext.cnf").write_text(
        "extendedKeyUsage=critical,timeStamping\nbasicConstraints=CA:FALSE\n"
    )
    _ssl(
        "x509",
        "-req",
        "-in",
        "tsa.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "tsa.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        cwd=d,
    )
    (d / "tsaserial").write_text("01\n")
    (d / "tsa.cnf").write_text(TSA_CNF.format(dir=d))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            q, r = d / f"{uuid.uuid4().hex}.tsq", d / f"{uuid.uuid4().hex}.tsr"
            q.write_bytes(body)
            _ssl("ts", "-reply", "-config", "tsa.cnf", "-queryfile", str(q), "-out", str(r), cwd=d)
            data = r.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/tsa", d
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def package(tsa: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("evidence")
    jpath = d / "residence.sqlite"
    with open_journal(str(jpath)) as j:
        record_feed(simulated_feed(seed=3), j, T0, 30.0)
    key = Ed25519PrivateKey.generate()
    (d / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    out = d / "pkg"
    rc = main(
        [
            "evidence",
            str(jpath),
            "--from",
            str(T0 + 5),
            "--to",
            str(T0 + 25),
            "-o",
            str(out),
            "--key",
            str(d / "key.pem"),
            "--tsa",
            tsa[0],
        ]
    )
    assert rc == 0
    return out


def _verify(pkg: Path, ca: Path | None = None) -> tuple[int, str]:
    buf = io.StringIO()
    args = ["verify", str(pkg)] + (["--tsa-ca", str(ca)] if ca else [])
    with contextlib.redirect_stdout(buf):
        rc = main(args)
    return rc, buf.getvalue()


def test_sealed_package_verifies_and_is_a_standard_timestamp(
    package: Path, tsa: tuple[str, Path]
) -> None:
    names = {p.name for p in package.iterdir()}
    assert {
        "journal_segment.jsonl",
        "report.pdf",
        "report.html",
        "investigation.json",
        "manifest.json",
        "manifest.sig",
        "signer.pub.pem",
        "timestamp.tsr",
    } <= names
    m = json.loads((package / "manifest.json").read_text())
    assert m["segment"]["records"] > 100 and m["chain_head"]["journal_intact_when_sealed"]
    assert m["window"] == [T0 + 5, T0 + 25]
    rc, out = _verify(package, tsa[1] / "ca.pem")
    assert rc == 0, out
    assert "verdict   INTACT" in out and "skywarden test TSA" in out
    # the token is an ordinary RFC 3161 one: openssl itself verifies it against the manifest
    assert OPENSSL is not None
    subprocess.run(
        [
            OPENSSL,
            "ts",
            "-verify",
            "-token_in",
            "-in",
            str(package / "timestamp.tsr"),
            "-data",
            str(package / "manifest.json"),
            "-CAfile",
            str(tsa[1] / "ca.pem"),
            "-untrusted",
            str(tsa[1] / "tsa.pem"),
        ],
        check=True,
        capture_output=True,
    )
    # a TSA certificate from another CA is refused when the CA is given
    other = tsa[1] / "other"
    other.mkdir(exist_ok=True)
    _ssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "o.key",
        "-out",
        "o.pem",
        "-days",
        "1",
        "-subj",
        "/CN=other CA",
        cwd=other,
    )
    rc, out = _verify(package, other / "o.pem")
    assert rc == 1 and "not issued by the given CA" in out


def _edit_json_line(p: Path) -> None:
    lines = p.read_text().splitlines()
    r = json.loads(lines[10])
    body = json.loads(r["body"])
    body["t"] = float(body["t"]) + 0.001
    r["body"] = json.dumps(body)
    lines[10] = json.dumps(r)
    p.write_text("\n".join(lines) + "\n")


def _flip_last(p: Path) -> None:
    data = bytearray(p.read_bytes())
    data[-5] ^= 0x01
    p.write_bytes(bytes(data))


def _new_key(p: Path) -> None:
    pub = Ed25519PrivateKey.generate().public_key()
    p.write_bytes(
        pub.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _manifest_head(p: Path) -> None:
    m = json.loads(p.read_text())
    m["chain_head"]["hash"] = "00" * 32
    p.write_text(json.dumps(m, indent=1, sort_keys=True))


def _drop_line(p: Path) -> None:
    lines = p.read_text().splitlines()
    del lines[20]
    p.write_text("\n".join(lines) + "\n")


ALTERATIONS: dict[str, tuple[str, Callable[[Path], None], str]] = {
    "segment_record": ("journal_segment.jsonl", _edit_json_line, "journal_segment.jsonl: altered"),
    "segment_deleted": ("journal_segment.jsonl", _drop_line, "missing (deleted)"),
    "report_pdf": ("report.pdf", _flip_last, "report.pdf: altered"),
    "report_html": ("report.html", _flip_last, "report.html: altered"),
    "investigation": ("investigation.json", _flip_last, "investigation.json: altered"),
    "manifest": ("manifest.json", _manifest_head, "manifest signature does not check"),
    "signature": ("manifest.sig", _flip_last, "manifest signature does not check"),
    "signer_key": ("signer.pub.pem", _new_key, "manifest signature does not check"),
    "timestamp": ("timestamp.tsr", _flip_last, "timestamp does not check"),
}


@pytest.mark.parametrize("part", sorted(ALTERATIONS))
def test_each_altered_part_is_refused_and_named(package: Path, tmp_path: Path, part: str) -> None:
    name, alter, expect = ALTERATIONS[part]
    pkg = tmp_path / "pkg"
    shutil.copytree(package, pkg)
    alter(pkg / name)
    rc, out = _verify(pkg)
    assert rc == 1, out
    assert "verdict   TAMPERED" in out and expect in out, out


def test_segment_chain_names_the_record_even_with_a_recomputed_file_hash(package: Path) -> None:
    lines = (package / "journal_segment.jsonl").read_text().splitlines()
    m = json.loads((package / "manifest.json").read_text())["segment"]
    args = (m["first_seq"], bytes.fromhex(m["anchor"]), bytes.fromhex(m["range_head"]))
    assert check_segment(lines, *args) == []
    r = json.loads(lines[7])
    r["raw_b64"] = "Zm9yZ2Vk"  # "forged"
    lines[7] = json.dumps(r)
    probs = check_segment(lines, *args)
    assert probs and f"record seq {r['seq']} altered" in probs[0]


def test_missing_package_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    rc, out = _verify(tmp_path / "empty")
    assert rc == 2 and "UNREADABLE" in out
