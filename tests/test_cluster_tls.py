"""Cluster processes across machines: TLS with a CA and client certificates, and a user
whose password comes from the environment, against a nats-server configured by the test
with certificates it makes (openssl)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nats_helpers import NatsServer, free_port, require_nats_server
from skywarden.core.errors import ConfigError
from skywarden.runtime.cluster.connect import PASSWORD_ENV, NatsAccess, connect
from skywarden.runtime.cluster.leases import LeaseKeeper
from skywarden.runtime.cluster.topology import (
    RAW_STREAM,
    TopologyConfig,
    ensure_topology_retrying,
)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(d: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by it."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=skywarden test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        cwd=d,
    )
    for name, ext in (
        ("server", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
        ("client", "extendedKeyUsage=clientAuth"),
    ):
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={name}",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            cwd=d,
        )
        (d / f"{name}.ext").write_text(ext + "\n")
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            f"{name}.ext",
            "-out",
            f"{name}.pem",
            cwd=d,
        )
    return {k: d / k for k in ("ca.pem", "server.pem", "server.key", "client.pem", "client.key")}


def tls_server(tmp: Path, pki: dict[str, Path], extra: str = "") -> NatsServer:
    d = tmp / "nats"
    d.mkdir()
    port = free_port()
    conf = (
        f'listen: "127.0.0.1:{port}"\n'
        f'jetstream {{ store_dir: "{d}/js" }}\n'
        f'tls {{ cert_file: "{pki["server.pem"]}", key_file: "{pki["server.key"]}", '
        f'ca_file: "{pki["ca.pem"]}", verify: true, timeout: 2 }}\n{extra}'
    )
    return NatsServer("tls", d, conf, port).start()


def test_tls_with_client_certificates_and_a_password(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    require_nats_server()
    pki = make_pki(tmp_path)
    srv = tls_server(tmp_path, pki, 'authorization { user: worker, password: "s3cret pw" }\n')
    url = f"tls://127.0.0.1:{srv.port}"
    monkeypatch.setenv(PASSWORD_ENV, "s3cret pw")
    good = NatsAccess.of(
        url,
        ca_file=str(pki["ca.pem"]),
        cert_file=str(pki["client.pem"]),
        key_file=str(pki["client.key"]),
        user="worker",
    )

    async def main() -> None:
        nc = await connect(good)
        try:
            js = nc.jetstream(timeout=5.0)
            await ensure_topology_retrying(js, TopologyConfig(), give_up_s=10)
            assert (await js.stream_info(RAW_STREAM)).config.name == RAW_STREAM
        finally:
            await nc.close()
        # refused: no client certificate; a wrong password; an unknown CA
        no_cert = NatsAccess.of(url, ca_file=str(pki["ca.pem"]), user="worker")
        other = tmp_path / "other"
        other.mkdir()
        wrong_ca = NatsAccess.of(
            url,
            ca_file=str(make_pki(other)["ca.pem"]),
            cert_file=str(pki["client.pem"]),
            key_file=str(pki["client.key"]),
            user="worker",
        )
        for bad in (no_cert, wrong_ca):
            with pytest.raises(Exception):  # noqa: B017 - TLS or auth failure, whichever first
                await connect(
                    bad, max_reconnect_attempts=0, allow_reconnect=False, connect_timeout=2
                )
        os.environ[PASSWORD_ENV] = "wrong"
        with pytest.raises(Exception):  # noqa: B017
            await connect(good, max_reconnect_attempts=0, allow_reconnect=False, connect_timeout=2)
        os.environ[PASSWORD_ENV] = "s3cret pw"

    try:
        asyncio.run(main())
        # the lease keeper opens its own connection with the same access
        keeper = LeaseKeeper(good, "w1", 0.5, 10.0, time.monotonic)
        keeper.start()
        keeper.stop()
    finally:
        srv.stop()


def test_cli_refuses_bad_access_with_exit_2(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    base = [sys.executable, "-m", "skywarden.cli.main"]
    for args, says in (
        (["worker", "--nats-ca", str(tmp_path / "missing.pem")], "--nats-ca: no such file"),
        (["central", "--nats-cert", __file__], "--nats-cert and --nats-key go together"),
        (["worker", "--nats-user", "w"], PASSWORD_ENV),
    ):
        r = subprocess.run(base + args, capture_output=True, text=True, timeout=60)
        assert r.returncode == 2, (args, r.stderr)
        assert says in r.stderr
    with pytest.raises(ConfigError):
        NatsAccess.of(" , ")
