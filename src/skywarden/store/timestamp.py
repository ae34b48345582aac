"""RFC 3161 trusted timestamps: ask a time-stamping authority (TSA) to sign a digest, and check
its answer offline.

Request (RFC 3161 §2.4.1): ``TimeStampReq`` with the SHA-256 ``messageImprint``, a random
``nonce`` and ``certReq`` true (so the token carries the TSA's certificate), sent by HTTP POST
as ``application/timestamp-query`` (§3.4) to a configurable URL. Response (§2.4.2):
``TimeStampResp``; a ``status`` of granted (0) or grantedWithMods (1) carries a
``timeStampToken``, a CMS ``SignedData`` (RFC 5652) whose content is the ``TSTInfo``.

:func:`check_token` verifies, with no network: the ``TSTInfo`` imprint is the digest we hold;
the CMS ``messageDigest`` signed attribute is the SHA-256/384/512 of the ``TSTInfo`` bytes;
the TSA's signature over the signed attributes (DER, as a SET; RSA PKCS#1 v1.5 or ECDSA)
checks with the certificate in the token; optionally that certificate is signed by a given
CA and carries the critical ``timeStamping`` extended key usage (RFC 3161 §2.3).
asn1crypto parses the ASN.1; cryptography does the public-key arithmetic.
"""

from __future__ import annotations

import hashlib
import secrets
import urllib.request
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

_HASHES: dict[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class TimestampError(Exception):
    """The TSA refused, or a token does not check (the message says which part)."""


@dataclass(frozen=True)
class TokenInfo:
    gen_time: datetime
    serial: int
    policy: str
    tsa_subject: str


def request_body(digest: bytes, nonce: int) -> bytes:
    req = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": digest,
            },
            "nonce": nonce,
            "cert_req": True,
        }
    )
    body: bytes = req.dump()
    return body


def request_token(url: str, digest: bytes, timeout_s: float = 10.0) -> bytes:
    """POST a request for ``digest`` (SHA-256) to the TSA at ``url``; the token's DER bytes."""
    nonce = secrets.randbits(63)
    http = urllib.request.Request(
        url,
        data=request_body(digest, nonce),
        headers={"Content-Type": "application/timestamp-query"},
        method="POST",
    )
    with urllib.request.urlopen(http, timeout=timeout_s) as r:
        data: bytes = r.read()
    try:
        resp = tsp.TimeStampResp.load(data)
        status = resp["status"]["status"].native
    except (ValueError, TypeError) as e:
        raise TimestampError(f"TSA answer is not a TimeStampResp: {e}") from e
    if status not in ("granted", "granted_with_mods"):
        text = resp["status"]["status_string"].native
        raise TimestampError(f"TSA refused: {status} {text or ''}".strip())
    token = resp["time_stamp_token"]
    info = token["content"]["encap_content_info"]["content"].parsed
    if info["nonce"].native != nonce:
        raise TimestampError("TSA answer carries another nonce (replayed or mixed up)")
    der: bytes = token.dump()
    return der


def _verify_sig(cert: x509.Certificate, sig: bytes, data: bytes, algo: str, hname: str) -> None:
    pub = cert.public_key()
    h = _HASHES[hname]()
    try:
        if isinstance(pub, rsa.RSAPublicKey):
            pub.verify(sig, data, padding.PKCS1v15(), h)
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(sig, data, ec.ECDSA(h))
        else:
            raise TimestampError(f"unsupported TSA key type {type(pub).__name__}")
    except InvalidSignature as e:
        raise TimestampError(f"TSA signature ({algo}) does not check") from e


def check_token(token_der: bytes, digest: bytes, ca_pem: bytes | None = None) -> TokenInfo:
    """Verify a token against ``digest`` (see the module doc); :class:`TimestampError` if not."""
    try:
        ci = cms.ContentInfo.load(token_der)
        sd = ci["content"]
        encap = sd["encap_content_info"]
        tst_bytes = encap["content"].contents
        info = tsp.TSTInfo.load(tst_bytes)
        imprint = info["message_imprint"]
        signer = sd["signer_infos"][0]
        hname = signer["digest_algorithm"]["algorithm"].native
        attrs = signer["signed_attrs"]
        certs = [c.chosen for c in sd["certificates"] or []]
    except (ValueError, TypeError, KeyError, IndexError) as e:
        raise TimestampError(f"timestamp token unreadable: {e}") from e
    if imprint["hash_algorithm"]["algorithm"].native != "sha256":
        raise TimestampError("timestamp imprint is not SHA-256")
    if imprint["hashed_message"].native != digest:
        raise TimestampError("timestamp is for another document (imprint differs)")
    if hname not in _HASHES:
        raise TimestampError(f"unsupported digest {hname}")
    md = next((a["values"][0].native for a in attrs if a["type"].native == "message_digest"), None)
    if md != hashlib.new(hname, tst_bytes).digest():
        raise TimestampError("timestamp token content altered (messageDigest differs)")
    sid = signer["sid"].chosen
    cert_der = next(
        (
            c.dump()
            for c in certs
            if c.issuer == sid["issuer"] and c.serial_number == sid["serial_number"].native
        ),
        None,
    )
    if cert_der is None:
        raise TimestampError("timestamp token carries no TSA certificate")
    cert = x509.load_der_x509_certificate(cert_der)
    signed = attrs.dump()
    signed = b"\x31" + signed[1:]  # RFC 5652 §5.4: the signature covers the attributes as a SET
    algo = signer["signature_algorithm"]["algorithm"].native
    _verify_sig(cert, signer["signature"].native, signed, algo, hname)
    if ca_pem is not None:
        _check_issuer(cert, ca_pem)
    return TokenInfo(
        gen_time=info["gen_time"].native,
        serial=int(info["serial_number"].native),
        policy=str(info["policy"].native),
        tsa_subject=cert.subject.rfc4514_string(),
    )


def _check_issuer(cert: x509.Certificate, ca_pem: bytes) -> None:
    ca = x509.load_pem_x509_certificate(ca_pem)
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature) as e:
        raise TimestampError(f"TSA certificate not issued by the given CA: {e}") from e
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound as e:
        raise TimestampError("TSA certificate has no extended key usage") from e
    if not eku.critical or ExtendedKeyUsageOID.TIME_STAMPING not in eku.value:
        raise TimestampError("TSA certificate is not for time stamping (critical EKU)")
