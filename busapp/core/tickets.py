"""Signed ticket tokens: what a booking's QR code holds, checkable on a tablet without network.

A tablet must be able to tell a real ticket from a fake one, but must not be able to make tickets. So tickets are
signed with an Ed25519 private key that only the server holds; tablets get the public keys.

Format DB2 (every character is in the QR alphanumeric set, which keeps the code small and easy to scan):

    DB2.<code>.<workshop id>.<party size>.<key id>.<signature>

`key id` is 8 hex digits naming the public key (the first 4 bytes of SHA-256 over its raw 32 bytes), so keys can be
rolled: a new key signs new tickets while the old public key, listed in TICKET_PUBLIC_KEYS, still verifies the
tickets made before. `signature` is the Ed25519 signature of ``DB2.<code>.<workshop id>.<party size>.<key id>``
in base32 without padding (103 characters).

Format DB1 (tickets issued before DB2): ``DB1.<code>.<workshop id>.<party size>.<HMAC>``. Such a ticket is still
accepted, but only until its workshop has passed (the check-in service enforces that with `Payload.legacy`). A tablet
cannot check an HMAC without the key that makes one, so the day's data gives it a digest of each legacy token
(`legacy_digest`) instead of the key.

Where the private key comes from: TICKET_SIGNING_KEY in the environment (production must set it; the app refuses to
start without it), else a key generated once in instance/ticket-signing-key for development, else (testing) a key
derived from SECRET_KEY.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import current_app

PREFIX = "DB2"
LEGACY_PREFIX = "DB1"
SIGNATURE_BYTES = 20  # of the legacy HMAC
_TOKEN = re.compile(r"^DB2\.([A-Z0-9]{4,12})\.([0-9]{1,10})\.([1-9][0-9]?)\.([0-9A-F]{8})\.([A-Z2-7]{103})$")
_LEGACY = re.compile(r"^DB1\.([A-Z0-9]{4,12})\.([0-9]{1,10})\.([1-9][0-9]?)\.([A-Z2-7]{32})$")


@dataclass(frozen=True)
class TicketPayload:
    """What a valid ticket says: which booking, for which workshop, for how many people; `legacy` for DB1."""

    code: str
    workshop_id: int
    party_size: int
    legacy: bool = False


# --- keys ----------------------------------------------------------------------------------------------------------

def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=")


def _unb32(text: str) -> bytes:
    return base64.b32decode(text + "=" * (-len(text) % 8))


def raw_public(public: Ed25519PublicKey) -> bytes:
    """The 32 bytes of a public key."""
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public: Ed25519PublicKey) -> str:
    """The 8 hex digits that name a public key inside tokens."""
    return hashlib.sha256(raw_public(public)).hexdigest()[:8].upper()


def private_key_from_text(text: str) -> Ed25519PrivateKey:
    """A private key from its 32-byte seed written in base64 ; ValueError if bad."""
    try:
        seed = base64.b64decode(text.strip(), validate=True)
    except ValueError as exc:
        raise ValueError("not base64") from exc
    if len(seed) != 32:
        raise ValueError("an Ed25519 key is 32 bytes (44 base64 characters)")
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """A public key from its 32 bytes written in base64; ValueError if bad."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except ValueError as exc:
        raise ValueError("not base64") from exc
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes (44 base64 characters)")
    return Ed25519PublicKey.from_public_bytes(raw)


@lru_cache(maxsize=8)
def _private(seed_text: str) -> Ed25519PrivateKey:
    return private_key_from_text(seed_text)


@lru_cache(maxsize=8)
def _publics(seed_text: str, extra: tuple[str, ...]) -> dict[str, Ed25519PublicKey]:
    keys = {}
    current = _private(seed_text).public_key()
    keys[key_id(current)] = current
    for text in extra:
        public = public_key_from_text(text)
        keys.setdefault(key_id(public), public)
    return keys


def signing_key() -> Ed25519PrivateKey:
    """The server's private ticket key (config TICKET_SIGNING_KEY, checked at start-up)."""
    return _private(current_app.config["TICKET_SIGNING_KEY"])


def public_keys() -> dict[str, Ed25519PublicKey]:
    """Every public key that verifies tickets, by key id: the current one and the rolled-over ones."""
    return _publics(current_app.config["TICKET_SIGNING_KEY"], tuple(current_app.config["TICKET_PUBLIC_KEYS"]))


def public_keys_for_devices() -> dict[str, str]:
    """The public keys as base64 by key id, for the tablets' day data."""
    return {kid: base64.b64encode(raw_public(key)).decode("ascii") for kid, key in public_keys().items()}


# --- signing and verifying -----------------------------------------------------------------------------------------

def sign_values(code: str, workshop_id: int, party_size: int, key: Ed25519PrivateKey | None = None) -> str:
    """The ticket token for these values."""
    key = key or signing_key()
    message = f"{PREFIX}.{code}.{int(workshop_id)}.{int(party_size)}.{key_id(key.public_key())}"
    return f"{message}.{_b32(key.sign(message.encode('ascii')))}"


def sign(booking) -> str:
    """The ticket token of a booking (its code, workshop and party size)."""
    return _signed(current_app.config["TICKET_SIGNING_KEY"], booking.code, booking.workshop_id, booking.party_size)


@lru_cache(maxsize=4096)
def _signed(seed_text: str, code: str, workshop_id: int, party_size: int) -> str:
    # Ed25519 signatures are deterministic: the same values and key always give the same token, so a ticket opened
    # again (and its QR code file) is not signed again (about a tenth of a millisecond each, with the key's id).
    return sign_values(code, workshop_id, party_size, key=_private(seed_text))


def verify(token: str, keys: dict[str, Ed25519PublicKey] | None = None,
           legacy_key: bytes | None = None) -> TicketPayload | None:
    """The payload of a genuine token, or None for anything malformed, altered or signed with an unknown key.

    A DB1 token comes back with `legacy=True`: whether it is still good depends on its workshop's time."""
    if not isinstance(token, str):
        return None
    token = token.strip()
    match = _TOKEN.match(token)
    if match is not None:
        code, workshop_id, party_size, kid, signature = match.groups()
        public = (keys if keys is not None else public_keys()).get(kid)
        if public is None:
            return None
        try:
            public.verify(_unb32(signature), token.rsplit(".", 1)[0].encode("ascii"))
        except (InvalidSignature, ValueError):
            return None
        return TicketPayload(code=code, workshop_id=int(workshop_id), party_size=int(party_size))
    match = _LEGACY.match(token)
    if match is None:
        return None
    code, workshop_id, party_size, signature = match.groups()
    message = token.rsplit(".", 1)[0]
    if not hmac.compare_digest(signature, _legacy_signature(message, legacy_key or verification_key())):
        return None
    return TicketPayload(code=code, workshop_id=int(workshop_id), party_size=int(party_size), legacy=True)


# --- the legacy HMAC format, read only -----------------------------------------------------------------------------

def verification_key(secret: str | None = None) -> bytes:
    """The HMAC key of DB1 tickets, derived from SECRET_KEY. It stays on the server: it can make tickets."""
    secret = secret if secret is not None else current_app.config["SECRET_KEY"]
    return hmac.new(secret.encode(), b"busapp ticket signing key v1", hashlib.sha256).digest()


def _legacy_signature(message: str, key: bytes) -> str:
    return _b32(hmac.new(key, message.encode("ascii"), hashlib.sha256).digest()[:SIGNATURE_BYTES])


def legacy_token(code: str, workshop_id: int, party_size: int, key: bytes | None = None) -> str:
    """The DB1 token a booking was given before DB2 (to recognise and test such tickets; never handed out anew)."""
    message = f"{LEGACY_PREFIX}.{code}.{int(workshop_id)}.{int(party_size)}"
    return f"{message}.{_legacy_signature(message, key or verification_key())}"


def legacy_digest(code: str, workshop_id: int, party_size: int) -> str:
    """SHA-256 of a booking's DB1 token: lets a tablet recognise that token without holding the HMAC key."""
    return hashlib.sha256(legacy_token(code, workshop_id, party_size).encode("ascii")).hexdigest()


def new_private_key_text() -> str:
    """A fresh private key as base64 (for TICKET_SIGNING_KEY)."""
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    key = Ed25519PrivateKey.generate()
    return base64.b64encode(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())).decode("ascii")
