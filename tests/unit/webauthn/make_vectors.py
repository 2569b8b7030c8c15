#!/usr/bin/env python3
"""Writes vectors.h: a software ES256 security key's registration and
assertions, signed with the `cryptography` package (no libfido2 involved), so
the verifier is checked against an independent implementation.
Run: python3 make_vectors.py > vectors.h"""
import base64, hashlib, json, os, struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

RP_ID = "resetd.test"
ORIGIN = "https://resetd.test:8443"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def cose_es256(pub):
    n = pub.public_numbers()
    x, y = n.x.to_bytes(32, "big"), n.y.to_bytes(32, "big")
    # {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}
    return bytes.fromhex("a5010203262001215820") + x + bytes.fromhex("225820") + y


def client_data(typ, challenge, origin=ORIGIN):
    return json.dumps({"type": typ, "challenge": b64u(challenge), "origin": origin,
                       "crossOrigin": False}, separators=(",", ":")).encode()


def reg(key, cred_id, challenge, rp_id=RP_ID, flags=0x41):
    auth = (hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", 0)
            + bytes(16) + struct.pack(">H", len(cred_id)) + cred_id + cose_es256(key.public_key()))
    return client_data("webauthn.create", challenge), auth


def cbor(v):
    """The few CBOR types an attestation object uses (definite lengths)."""
    def head(major, n):
        if n < 24:
            return bytes([major << 5 | n])
        for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
            if n < 1 << (8 * size):
                return bytes([major << 5 | info]) + n.to_bytes(size, "big")
    if isinstance(v, bool):
        return b"\xf5" if v else b"\xf4"
    if isinstance(v, int):
        return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, bytes):
        return head(2, len(v)) + v
    if isinstance(v, str):
        return head(3, len(v.encode())) + v.encode()
    if isinstance(v, list):
        return head(4, len(v)) + b"".join(cbor(x) for x in v)
    return head(5, len(v)) + b"".join(cbor(k) + cbor(x) for k, x in v.items())


def att_object(fmt, stmt, auth):
    return cbor({"fmt": fmt, "attStmt": stmt, "authData": auth})


def packed(signer, cdj, auth, x5c=None, alg=-7):
    """A "packed" statement: signed by the credential's own key (self) or, with x5c, the certificate's."""
    sig = signer.sign(auth + hashlib.sha256(cdj).digest(), ec.ECDSA(hashes.SHA256()))
    stmt = {"alg": alg, "sig": sig}
    if x5c:
        stmt["x5c"] = x5c
    return att_object("packed", stmt, auth)


def attestation_cert(att_key):
    """A batch certificate as a maker would issue it (self-signed here: its root is not checked)."""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import NameOID
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "resetd test attestation"),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Authenticator Attestation"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "resetd tests"),
                      x509.NameAttribute(NameOID.COUNTRY_NAME, "TW")])
    now = datetime.datetime(2026, 1, 1)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(att_key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(att_key, hashes.SHA256()))
    return cert.public_bytes(Encoding.DER)


def assertion(key, challenge, count, origin=ORIGIN, rp_id=RP_ID, flags=0x01):
    cdj = client_data("webauthn.get", challenge, origin)
    auth = hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", count)
    sig = key.sign(auth + hashlib.sha256(cdj).digest(), ec.ECDSA(hashes.SHA256()))
    return cdj, auth, sig


def pub_raw(key):
    n = key.public_key().public_numbers()
    return n.x.to_bytes(32, "big") + n.y.to_bytes(32, "big")


key, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
cred_id = os.urandom(32)
reg_challenge, get_challenge = os.urandom(32), os.urandom(32)
out = {}
out["reg_challenge"] = reg_challenge
out["get_challenge"] = get_challenge
out["cred_id"] = cred_id
out["public_key"] = pub_raw(key)
out["other_public_key"] = pub_raw(other)
out["reg_cdj"], out["reg_auth"] = reg(key, cred_id, reg_challenge)
_, out["reg_auth_other_rp"] = reg(key, cred_id, reg_challenge, rp_id="evil.test")
_, out["reg_auth_no_up"] = reg(key, cred_id, reg_challenge, flags=0x40)
att_key = ec.generate_private_key(ec.SECP256R1())
cert = attestation_cert(att_key)
out["att_none"] = att_object("none", {}, out["reg_auth"])
out["att_none_stmt"] = att_object("none", {"sig": b"x"}, out["reg_auth"])
out["att_self"] = packed(key, out["reg_cdj"], out["reg_auth"])
out["att_self_other_key"] = packed(other, out["reg_cdj"], out["reg_auth"])
out["att_x5c"] = packed(att_key, out["reg_cdj"], out["reg_auth"], x5c=[cert])
out["att_x5c_wrong_signer"] = packed(other, out["reg_cdj"], out["reg_auth"], x5c=[cert])
out["att_self_other_rp"] = packed(key, out["reg_cdj"], out["reg_auth_other_rp"])
out["att_unknown_fmt"] = att_object("tpm", {"alg": -7}, out["reg_auth"])
out["get_cdj"], out["get_auth"], out["get_sig"] = assertion(key, get_challenge, 1)
out["get2_cdj"], out["get2_auth"], out["get2_sig"] = assertion(key, get_challenge, 2)
out["get0_cdj"], out["get0_auth"], out["get0_sig"] = assertion(key, get_challenge, 0)
out["other_cdj"], out["other_auth"], out["other_sig"] = assertion(other, get_challenge, 1)
out["evil_cdj"], out["evil_auth"], out["evil_sig"] = assertion(key, get_challenge, 1, origin="https://evil.test")
out["evilrp_cdj"], out["evilrp_auth"], out["evilrp_sig"] = assertion(key, get_challenge, 1, rp_id="evil.test")
out["no_up_cdj"], out["no_up_auth"], out["no_up_sig"] = assertion(key, get_challenge, 1, flags=0x00)

print("// Generated by make_vectors.py; do not edit.")
print("#pragma once")
print("namespace vectors {")
print(f'inline constexpr const char* kRpId = "{RP_ID}";')
print(f'inline constexpr const char* kOrigin = "{ORIGIN}";')
for name, value in out.items():
    print(f'inline constexpr const char* {name} = "{value.hex()}";')
print("}  // namespace vectors")
