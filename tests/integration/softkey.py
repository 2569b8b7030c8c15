"""A software ES256 security key for the API tests: it answers WebAuthn
challenges as a browser + authenticator would (clientDataJSON, authenticator
data, ECDSA signature), signed with Python's `cryptography` (Debian's
python3-cryptography, which build.sh installs), never with resetd's own code."""
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
