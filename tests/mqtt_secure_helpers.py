"""A Mosquitto broker the test configures itself: password file, ACL, TLS with certificates.

``make_pki(dir)`` makes, with the ``openssl`` command line, a CA, the broker's certificate
(for 127.0.0.1 and localhost), a client certificate signed by the same CA, and a second,
unrelated CA (for the "wrong CA" cases). ``secure_broker(dir, users)`` writes the password
file with ``mosquitto_passwd``, an ACL binding each sensor's account to its own topic, and a
config with two loopback listeners on free ports:

- ``tls_port``: TLS 1.2+, client certificate required, plus user name and password;
- ``plain_port``: no TLS, user name and password (for the sensors' test publishers).

Anonymous clients are refused on both.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from mqtt_helpers import answers


def _tool(name: str) -> str:
    exe = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if exe is None:
        pytest.skip(f"{name} is not installed (Debian packages mosquitto, openssl)")
    return exe


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    rogue_ca: Path
    rogue_cert: Path
    rogue_key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run([_tool("openssl"), *args], cwd=cwd, check=True, capture_output=True)


def _ca(d: Path, name: str) -> None:
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2",
        "-subj", f"/CN={name}", cwd=d,
    )  # fmt: skip


def _leaf(d: Path, name: str, ca: str, san: str | None) -> None:
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d,
    )  # fmt: skip
    ext = d / f"{name}.ext"
    ext.write_text(f"subjectAltName={san}\n" if san else "basicConstraints=CA:FALSE\n")
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
        "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", ext.name, cwd=d,
    )  # fmt: skip


def make_pki(d: Path) -> Pki:
    d.mkdir(parents=True, exist_ok=True)
    _ca(d, "ca")
    _ca(d, "rogue-ca")
    _leaf(d, "broker", "ca", "IP:127.0.0.1,DNS:localhost")
    _leaf(d, "skywarden", "ca", None)
    _leaf(d, "rogue", "rogue-ca", None)
    return Pki(
        d / "ca.pem", d / "broker.pem", d / "broker.key", d / "skywarden.pem",
        d / "skywarden.key", d / "rogue-ca.pem", d / "rogue.pem", d / "rogue.key",
    )  # fmt: skip


@dataclass(frozen=True)
class SecureBroker:
    tls_port: int
    plain_port: int
    pki: Pki


@contextmanager
def secure_broker(
    d: Path, users: dict[str, str], acl: str, pki: Pki | None = None
) -> Iterator[SecureBroker]:
    """Start Mosquitto with ``users`` (name -> password) and the ``acl`` text."""
    exe = _tool("mosquitto")
    pki = pki or make_pki(d / "pki")
    passwd = d / "passwd"
    passwd.touch(mode=0o600)
    for name, pw in users.items():
        subprocess.run(
            [_tool("mosquitto_passwd"), "-b", str(passwd), name, pw],
            check=True,
            capture_output=True,
        )
    (d / "acl").write_text(acl)
    tls_port, plain_port = _free_port(), _free_port()
    conf = d / "mosquitto.conf"
    conf.write_text(
        "per_listener_settings false\n"
        "allow_anonymous false\n"
        f"password_file {passwd}\n"
        f"acl_file {d / 'acl'}\n"
        "persistence false\n"
        "user root\n"
        f"listener {tls_port} 127.0.0.1\n"
        f"cafile {pki.ca}\ncertfile {pki.server_cert}\nkeyfile {pki.server_key}\n"
        "require_certificate true\ntls_version tlsv1.2\n"
        f"listener {plain_port} 127.0.0.1\n"
    )
    log = d / "mosquitto.log"
    with log.open("wb") as err:
        proc = subprocess.Popen([exe, "-c", str(conf)], stdout=err, stderr=err)
    try:
        for _ in range(200):
            if answers(tls_port) and answers(plain_port):
                break
            if proc.poll() is not None:
                pytest.fail(f"mosquitto exited: {log.read_text()}")
            time.sleep(0.05)
        yield SecureBroker(tls_port, plain_port, pki)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
