"""Independent check of the software WebAuthn authenticator (suite/src/protocol/webauthn.rs).

The credential below is what `register_with` produces for the fixed inputs of its unit tests
(options `vector_options()`, origin https://cogcheck.auth.us-east-1.amazoncognito.com, private
scalar 0x0102...1f20, credential id 32 bytes of 0xc0). This script verifies it with py_webauthn
(https://github.com/duo-labs/py_webauthn), a relying-party implementation that shares no code
with cogcheck, and derives the public key from the private scalar with `cryptography`. The Rust
test `webauthn::tests::py_webauthn_vector` hard-codes what it prints.

Run (any Python >= 3.9):
    python3 -m venv /tmp/pywebauthn-venv && /tmp/pywebauthn-venv/bin/pip install webauthn
    /tmp/pywebauthn-venv/bin/python suite/tests/vectors/webauthn_vector.py
Checked with webauthn 3.0.1; it printed:
    credential_id c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0
    credential_public_key a5010203262001215820515c3d6eb9e396b904d3feca7f54fdcd0cc1e997bf375dca515ad0a6c3b4035f2258204536be3a50f318fbf9a5475902a221502bef0d57e08c53b2cc0a56f17d9f9354
    sign_count 0
    aaguid 00000000-0000-0000-0000-000000000000
    fmt none
    credential_type public-key
    user_verified True
    credential_device_type single_device
    credential_backed_up False
    public_key_x 515c3d6eb9e396b904d3feca7f54fdcd0cc1e997bf375dca515ad0a6c3b4035f
    public_key_y 4536be3a50f318fbf9a5475902a221502bef0d57e08c53b2cc0a56f17d9f9354
"""

import json

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_public_key,
)
from webauthn import verify_registration_response
from webauthn.helpers import base64url_to_bytes, decode_credential_public_key

CREDENTIAL = json.loads(
    '{"id":"wMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMA","rawId":"wMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMA","type":"public-key","response":{"clientDataJSON":"eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIiwiY2hhbGxlbmdlIjoiWTI5blkyaGxZMnN0WTJoaGJHeGxibWRsTFRBd01EQXdNREF3TURFIiwib3JpZ2luIjoiaHR0cHM6Ly9jb2djaGVjay5hdXRoLnVzLWVhc3QtMS5hbWF6b25jb2duaXRvLmNvbSIsImNyb3NzT3JpZ2luIjpmYWxzZX0","attestationObject":"o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YVikPqP6VSbU76wlTXH_ILi5CVQEf0mGuhS2RSmqRFk_6xJFAAAAAAAAAAAAAAAAAAAAAAAAAAAAIMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDApQECAyYgASFYIFFcPW6545a5BNP-yn9U_c0MwemXvzddylFa0KbDtANfIlggRTa-OlDzGPv5pUdZAqIhUCvvDVfgjFOyzApW8X2fk1Q","authenticatorData":"PqP6VSbU76wlTXH_ILi5CVQEf0mGuhS2RSmqRFk_6xJFAAAAAAAAAAAAAAAAAAAAAAAAAAAAIMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDApQECAyYgASFYIFFcPW6545a5BNP-yn9U_c0MwemXvzddylFa0KbDtANfIlggRTa-OlDzGPv5pUdZAqIhUCvvDVfgjFOyzApW8X2fk1Q","publicKey":"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEUVw9brnjlrkE0_7Kf1T9zQzB6Ze_N13KUVrQpsO0A19FNr46UPMY-_mlR1kCoiFQK-8NV-CMU7LMClbxfZ-TVA","publicKeyAlgorithm":-7,"transports":["internal"]},"clientExtensionResults":{},"authenticatorAttachment":"platform"}'
)

RP_ID = "cogcheck.auth.us-east-1.amazoncognito.com"
ORIGIN = "https://" + RP_ID
CHALLENGE = "Y29nY2hlY2stY2hhbGxlbmdlLTAwMDAwMDAwMDE"

v = verify_registration_response(
    credential=CREDENTIAL,
    expected_challenge=base64url_to_bytes(CHALLENGE),
    expected_origin=ORIGIN,
    expected_rp_id=RP_ID,
    require_user_verification=True,
)

# The verifier does check: the same credential under another challenge is refused.
try:
    verify_registration_response(
        credential=CREDENTIAL,
        expected_challenge=b"another challenge",
        expected_origin=ORIGIN,
        expected_rp_id=RP_ID,
    )
    raise SystemExit("py_webauthn accepted a wrong challenge")
except Exception as e:  # webauthn.helpers.exceptions.InvalidRegistrationResponse
    assert "challenge" in str(e).lower(), e

# The public key the private scalar 0x0102...1f20 has, computed by `cryptography` (OpenSSL).
expected = ec.derive_private_key(int.from_bytes(bytes(range(1, 33)), "big"), ec.SECP256R1())
expected_point = expected.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
cose = decode_credential_public_key(v.credential_public_key)
assert b"\x04" + cose.x + cose.y == expected_point, "COSE key is not the scalar's public key"
spki = load_der_public_key(base64url_to_bytes(CREDENTIAL["response"]["publicKey"]))
assert spki.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint) == expected_point

print("credential_id", v.credential_id.hex())
print("credential_public_key", v.credential_public_key.hex())
print("sign_count", v.sign_count)
print("aaguid", v.aaguid)
print("fmt", getattr(v.fmt, "value", v.fmt))
print("credential_type", getattr(v.credential_type, "value", v.credential_type))
print("user_verified", v.user_verified)
print("credential_device_type", getattr(v.credential_device_type, "value", v.credential_device_type))
print("credential_backed_up", v.credential_backed_up)
print("public_key_x", cose.x.hex())
print("public_key_y", cose.y.hex())
