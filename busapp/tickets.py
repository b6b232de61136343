"""Signed ticket tokens: what a booking's QR code holds, checkable on a tablet without network.

Format (all characters are in the QR alphanumeric set, which keeps the code small and easy to scan):

    DB1.<code>.<workshop id>.<party size>.<signature>

`signature` is the first 20 bytes of HMAC-SHA256 over ``DB1.<code>.<workshop id>.<party size>`` (the token
without its last part), written in base32 without padding. The HMAC key is not SECRET_KEY itself but a key
derived from it (`verification_key()`), so a check-in tablet can be given the key without being able to forge
session cookies. The tablet checks a scanned token by recomputing the HMAC (Web Crypto can do this offline) and
then looks the code up in the booking list it downloaded: the signature proves the ticket was issued here, the
list says whether it is still confirmed. Bump the prefix (DB2, ...) when the format or the key changes.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from flask import current_app

PREFIX = "DB1"
SIGNATURE_BYTES = 20
_TOKEN = re.compile(r"^DB1\.([A-Z0-9]{4,12})\.([0-9]{1,10})\.([1-9][0-9]?)\.([A-Z2-7]{32})$")


@dataclass(frozen=True)
class TicketPayload:
    """What a valid ticket says: which booking, for which workshop, for how many people."""

    code: str
    workshop_id: int
    party_size: int


def verification_key(secret: str | None = None) -> bytes:
    """The HMAC key for tickets, derived from SECRET_KEY; give it (hex-encoded) to check-in devices."""
    secret = secret if secret is not None else current_app.config["SECRET_KEY"]
    return hmac.new(secret.encode(), b"busapp ticket signing key v1", hashlib.sha256).digest()


def _signature(message: str, key: bytes) -> str:
    digest = hmac.new(key, message.encode("ascii"), hashlib.sha256).digest()[:SIGNATURE_BYTES]
    return base64.b32encode(digest).decode("ascii").rstrip("=")


def sign_values(code: str, workshop_id: int, party_size: int, key: bytes | None = None) -> str:
    """The ticket token for these values."""
    message = f"{PREFIX}.{code}.{int(workshop_id)}.{int(party_size)}"
    return f"{message}.{_signature(message, key or verification_key())}"


def sign(booking) -> str:
    """The ticket token of a booking (its code, workshop and party size)."""
    return sign_values(booking.code, booking.workshop_id, booking.party_size)


def verify(token: str, key: bytes | None = None) -> TicketPayload | None:
    """The payload of a genuine token, or None for anything malformed, altered or signed with another key."""
    if not isinstance(token, str):
        return None
    match = _TOKEN.match(token.strip())
    if match is None:
        return None
    code, workshop_id, party_size, signature = match.groups()
    message = token.strip().rsplit(".", 1)[0]
    if not hmac.compare_digest(signature, _signature(message, key or verification_key())):
        return None
    return TicketPayload(code=code, workshop_id=int(workshop_id), party_size=int(party_size))
