"""A software ES256 security key for the API tests: it answers WebAuthn
challenges as a browser + authenticator would (clientDataJSON, authenticator
data, ECDSA signature), signed with Python's `cryptography`, never with
resetd's own code."""
import base64
import hashlib
import json
import os
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class SoftKey:
    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cred_id = os.urandom(32)
        self.count = 0

    def _cose(self):
        n = self.key.public_key().public_numbers()
        return (bytes.fromhex("a5010203262001215820") + n.x.to_bytes(32, "big") + bytes.fromhex("225820")
                + n.y.to_bytes(32, "big"))

    @staticmethod
    def client_data(typ, challenge, origin):
        return json.dumps({"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": False},
                          separators=(",", ":")).encode()

    def register(self, options, origin, rp_id=None):
        """The body of POST .../security-key/confirm for the options of POST .../security-key."""
        rp = rp_id or options["rp_id"]
        cdj = self.client_data("webauthn.create", options["challenge"], origin)
        auth = (hashlib.sha256(rp.encode()).digest() + bytes([0x41]) + struct.pack(">I", self.count) + bytes(16)
                + struct.pack(">H", len(self.cred_id)) + self.cred_id + self._cose())
        return {"client_data_json": b64u(cdj), "authenticator_data": b64u(auth)}

    def assert_(self, options, origin, rp_id=None, count=None):
        """The "security_key" object of POST /session/second-factor for a challenge."""
        rp = rp_id or options["rp_id"]
        self.count = self.count + 1 if count is None else count
        cdj = self.client_data("webauthn.get", options["challenge"], origin)
        auth = hashlib.sha256(rp.encode()).digest() + bytes([0x01]) + struct.pack(">I", self.count)
        sig = self.key.sign(auth + hashlib.sha256(cdj).digest(), ec.ECDSA(hashes.SHA256()))
        return {"id": b64u(self.cred_id), "client_data_json": b64u(cdj), "authenticator_data": b64u(auth),
                "signature": b64u(sig)}

    def register_attested(self, options, origin, fmt="packed", x5c=False, signer=None):
        """The confirm body with the whole attestation object: "none", or "packed" signed by
        this key (self attestation) or, with x5c, by a batch key whose certificate goes along.
        `signer` signs instead (a forgery)."""
        body = self.register(options, origin)
        auth = unb64u(body.pop("authenticator_data"))
        cdj = unb64u(body["client_data_json"])
        stmt = {}
        if fmt == "packed":
            att_key = ec.generate_private_key(ec.SECP256R1()) if x5c else self.key
            by = signer or att_key
            stmt = {"alg": -7, "sig": by.sign(auth + hashlib.sha256(cdj).digest(), ec.ECDSA(hashes.SHA256()))}
            if x5c:
                stmt["x5c"] = [_batch_cert(att_key)]
        body["attestation_object"] = b64u(_cbor({"fmt": fmt, "attStmt": stmt, "authData": auth}))
        return body


def _cbor(v):
    """The few CBOR types an attestation object uses (definite lengths)."""
    def head(major, n):
        if n < 24:
            return bytes([major << 5 | n])
        for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
            if n < 1 << (8 * size):
                return bytes([major << 5 | info]) + n.to_bytes(size, "big")
    if isinstance(v, int):
        return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, bytes):
        return head(2, len(v)) + v
    if isinstance(v, str):
        return head(3, len(v.encode())) + v.encode()
    if isinstance(v, list):
        return head(4, len(v)) + b"".join(_cbor(x) for x in v)
    return head(5, len(v)) + b"".join(_cbor(k) + _cbor(x) for k, x in v.items())


def _batch_cert(att_key):
    """A maker's batch certificate (self-signed here: resetd checks no maker's root)."""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import NameOID
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "softkey batch"),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Authenticator Attestation"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "resetd tests"),
                      x509.NameAttribute(NameOID.COUNTRY_NAME, "TW")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(att_key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(att_key, hashes.SHA256()))
    return cert.public_bytes(Encoding.DER)
