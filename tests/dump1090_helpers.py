"""A real dump1090 (Debian's dump1090-mutability) on loopback, network only, for the ADS-B
link tests (``test_adsb_dump1090`` reads its Beast and SBS outputs, ``test_adsb_avr`` its AVR
raw output). One place for starting it, so both tests run the same peer the same way."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "adsb"
BIN = "dump1090-mutability"
PORTS = ("bi", "bo", "ro", "ri", "sbs", "http")  # its --net-<name>-port options


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def ensure_dump1090() -> str | None:
    """None when dump1090 is there (installed now if apt-get can), else why it is not."""
    if shutil.which(BIN):
        return None
    if not shutil.which("apt-get"):
        return "apt-get not available to install dump1090-mutability"
    r = subprocess.run(
        ["apt-get", "install", "-y", "-q", BIN],
        capture_output=True,
        text=True,
        env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        timeout=600,
    )
    if r.returncode != 0 or not shutil.which(BIN):
        return f"cannot install {BIN}: {r.stderr.strip()[-200:]}"
    return None


@contextlib.contextmanager
def running_dump1090(ready: int, **ports: int) -> Iterator[None]:
    """dump1090 ``--net-only`` on 127.0.0.1 with the given ports (names of :data:`PORTS`; the
    others off), once it accepts connections on port ``ready``; stopped after."""
    unknown = set(ports) - set(PORTS)
    assert not unknown, f"not a dump1090 port: {unknown}"
    args = [BIN, "--net-only", "--quiet", "--net-bind-address", "127.0.0.1"]
    for name in PORTS:
        args += [f"--net-{name}-port", str(ports.get(name, 0))]
    proc = subprocess.Popen(
        [*args, "--net-heartbeat", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", ready), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.skip(f"{BIN} exited: {proc.stderr.read() if proc.stderr else b''!r}")
                subprocess.run(["sleep", "0.05"], check=False)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)
