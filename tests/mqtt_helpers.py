"""A real Mosquitto broker on loopback for the MQTT tests, and a QoS 1 publisher.

Uses the broker on 127.0.0.1:1883 when one answers (the project's machines run one);
otherwise starts ``mosquitto`` with a throw-away config on a free port and stops it after.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion


def answers(port: int) -> bool:
    """Something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def broker_port(tmp_dir: Path) -> Iterator[int]:
    if answers(1883):
        yield 1883
        return
    exe = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
    if exe is None:
        pytest.skip("no MQTT broker on 127.0.0.1:1883 and no mosquitto binary to start one")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    conf = tmp_dir / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    proc = subprocess.Popen([exe, "-c", str(conf)], stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            if answers(port):
                break
            if proc.poll() is not None:
                pytest.skip(f"mosquitto exited: {proc.stderr.read() if proc.stderr else b''!r}")
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class Publisher:
    """A blocking QoS 1 publisher (each publish waits for the broker's PUBACK), anonymous or
    with its own account (``user``/``password``: a sensor of the secure broker's tests);
    ``wait_connack`` says whether the broker let it in."""

    def __init__(
        self, port: int, client_id: str, user: str | None = None, password: str | None = None
    ) -> None:
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        if user is not None:
            self.client.username_pw_set(user, password)
        self.refused: object = None
        self.connected = False

        def on_connect(_c: paho.Client, _u: object, _f: object, rc: object, _p: object) -> None:
            if getattr(rc, "is_failure", False):
                self.refused = rc
            else:
                self.connected = True

        self.client.on_connect = on_connect
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def wait_connack(self, timeout_s: float = 10.0) -> bool:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end and not self.connected and self.refused is None:
            time.sleep(0.02)
        return self.connected

    def publish(self, topic: str, payload: bytes) -> None:
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=10)
        assert info.is_published()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
