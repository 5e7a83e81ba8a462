"""Filters from collections that ansible-core lacks: `json_query` (community.general, jmespath),
`x509_certificate_info` (community.crypto, cryptography) and `community.general.dict`.

Written after the collections shipped in ansible 11.13 (Kubespray's pin); the differential tests
compare them with those collections' own functions. `cryptography`'s x509 and key modules are
imported when a template first reads a certificate (~20 ms a run without one does not pay), and
`jmespath` at the first `json_query` (~2 ms).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ansible.errors import AnsibleFilterError

if TYPE_CHECKING:
    from cryptography import x509

from kvalidate.ansible.reuse import taint


def json_query(data: Any, expr: str) -> Any:
    """`data | json_query('items[?ready].name')`: a JMESPath query."""
    import jmespath  # deferred: see the module docstring

    try:
        return jmespath.search(expr, data)
    except jmespath.exceptions.JMESPathError as e:
        raise AnsibleFilterError(f"JMESPathError in json_query filter plugin:\n{e}") from e
    except Exception as e:
        raise AnsibleFilterError(f"Error in jmespath.search in json_query filter plugin:\n{e}") from e


def dict_filter(sequence: Any) -> dict[Any, Any]:
    """`[[k, v], ...] | community.general.dict`: a list of pairs to a dict."""
    return dict(sequence)


def _fingerprints(data: bytes) -> dict[str, str]:
    """community.crypto `get_fingerprint_of_bytes`: every guaranteed hashlib digest, colon-hex."""
    out: dict[str, str] = {}
    for algo in hashlib.algorithms_guaranteed:
        h = hashlib.new(algo, data)
        digest = h.hexdigest(32) if algo.startswith("shake") else h.hexdigest()  # type: ignore[call-arg]
        out[algo] = ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))
    return out


def _name(name: x509.Name) -> dict[str, str]:
    out: dict[str, str] = {}
    for attr in name:
        key = getattr(attr.oid, "_name", None) or attr.oid.dotted_string
        out[key] = str(attr.value)
    return out


def _key_type(key: Any) -> str:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa  # deferred (docstring)

    for cls, label in ((rsa.RSAPublicKey, "RSA"), (dsa.DSAPublicKey, "DSA"),
                       (ec.EllipticCurvePublicKey, "ECC"), (ed25519.Ed25519PublicKey, "Ed25519"),
                       (ed448.Ed448PublicKey, "Ed448")):
        if isinstance(key, cls):
            return label
    return "unknown"


def x509_certificate_info(data: Any, name_encoding: str = "ignore") -> dict[str, Any]:
    """`pem | community.crypto.x509_certificate_info`: the main fields of a PEM certificate.

    Gives the keys templates use: `public_key_fingerprints`, `fingerprints`, `subject`, `issuer`,
    `serial_number`, `not_before`, `not_after`, `public_key`, `public_key_type`, `version`,
    `signature_algorithm`, `expired`.
    """
    from cryptography import x509  # deferred (module docstring)
    from cryptography.hazmat.primitives import serialization

    if not isinstance(data, str):
        raise AnsibleFilterError(
            f"The community.crypto.x509_certificate_info input must be a text type, not {type(data)}")
    try:
        cert = x509.load_pem_x509_certificate(data.encode())
    except ValueError as e:
        raise AnsibleFilterError(f"Cannot load certificate: {e}") from e
    pub = cert.public_key()
    spki = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    pem = pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    not_after = cert.not_valid_after_utc
    return {
        "subject": _name(cert.subject),
        "issuer": _name(cert.issuer),
        "serial_number": cert.serial_number,
        "not_before": cert.not_valid_before_utc.strftime("%Y%m%d%H%M%SZ"),
        "not_after": not_after.strftime("%Y%m%d%H%M%SZ"),
        "expired": _expired(not_after),
        "version": cert.version.value + 1,
        "signature_algorithm": getattr(cert.signature_algorithm_oid, "_name", ""),
        "public_key": pem.decode(),
        "public_key_type": _key_type(pub),
        "public_key_fingerprints": _fingerprints(spki),
        "fingerprints": _fingerprints(cert.public_bytes(serialization.Encoding.DER)),
    }


def _expired(not_after: datetime) -> bool:
    """Whether a certificate has expired: depends on the time of the run, so never reused (`reuse`)."""
    taint()
    return not_after < datetime.now(UTC)
