"""Time-based one-time passwords (RFC 6238, on HOTP of RFC 4226) for the coordinators' second factor.

Written out here with hmac rather than taken from a library or a service: it is thirty lines, and the codes are what
every authenticator app shows for an `otpauth://totp/` key (HMAC-SHA1, 6 digits, 30-second steps). A code is
accepted for its own step and one step either side (a phone's clock that is a little off), and each step at most
once per account (`last_step`), so a code read over a shoulder cannot be used again.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from urllib.parse import quote, urlencode

DIGITS = 6
STEP = 30
WINDOW = 1


def new_secret() -> str:
    """A new key for an account: 160 random bits in base32, as authenticator apps take it."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    text = secret.strip().replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def hotp(key: bytes, counter: int, digits: int = DIGITS, digest=hashlib.sha1) -> str:
    """RFC 4226: the code for this counter."""
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10 ** digits).zfill(digits)


def code_at(secret: str, at: float, digits: int = DIGITS) -> str:
    """RFC 6238: the code an authenticator app shows at the Unix time `at`."""
    return hotp(_key(secret), int(at) // STEP, digits)


def verify(secret: str, code: str, last_step: int | None, at: float | None = None) -> int | None:
    """The step the code belongs to, when it is right and newer than `last_step`; else None."""
    code = (code or "").replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    now = int(time.time() if at is None else at) // STEP
    key = _key(secret)
    for step in range(now - WINDOW, now + WINDOW + 1):
        if (last_step is None or step > last_step) and hmac.compare_digest(hotp(key, step), code):
            return step
    return None


def uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth:// address an authenticator app reads from a QR code."""
    label = quote(f"{issuer}:{account}", safe="")
    return f"otpauth://totp/{label}?" + urlencode({"secret": secret, "issuer": issuer, "digits": DIGITS,
                                                   "period": STEP, "algorithm": "SHA1"})
