"""Signed ticket tokens: what the QR code on a ticket holds, and that a forged or altered one is refused."""
import base64
import hashlib
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from busapp import create_app
from busapp.core import tickets
from busapp.core.config import ConfigError, load
from busapp.booking.service import CODE_ALPHABET, new_code, normalize_code


def test_token_round_trip(app):
    token = tickets.sign_values("K7MQ4P", 42, 2)
    kid = tickets.key_id(tickets.signing_key().public_key())
    assert token.startswith(f"DB2.K7MQ4P.42.2.{kid}.")
    assert tickets.verify(token) == tickets.TicketPayload(code="K7MQ4P", workshop_id=42, party_size=2)


def test_token_uses_only_qr_alphanumeric_characters(app):
    # The QR alphanumeric mode (0-9, A-Z, space, $%*+-./:) makes a smaller code that old phones scan easily.
    token = tickets.sign_values(new_code(), 123456, 4)
    assert re.fullmatch(r"[0-9A-Z $%*+\-./:]+", token), token


@pytest.mark.parametrize("part, replacement", [
    (4, "0000ABCD"), # another key id
    (1, "K7MQ4R"),   # another booking code
    (2, "43"),       # another workshop
    (3, "4"),        # more people
])
def test_altered_token_is_rejected(app, part, replacement):
    parts = tickets.sign_values("K7MQ4P", 42, 2).split(".")
    parts[part] = replacement
    assert tickets.verify(".".join(parts)) is None


def test_altered_signature_is_rejected(app):
    token = tickets.sign_values("K7MQ4P", 42, 2)
    last = token[-1]
    forged = token[:-1] + ("A" if last != "A" else "B")
    assert tickets.verify(forged) is None


def test_token_signed_with_another_key_is_rejected(app):
    other = Ed25519PrivateKey.generate()
    forged = tickets.sign_values("K7MQ4P", 42, 2, key=other)
    assert tickets.verify(forged) is None
    # ...while a verifier given that public key accepts it: verification needs only public keys.
    keys = {tickets.key_id(other.public_key()): other.public_key()}
    assert tickets.verify(forged, keys=keys) is not None


def test_token_with_the_real_key_id_but_another_signer_is_rejected(app):
    other = Ed25519PrivateKey.generate()
    real_kid = tickets.key_id(tickets.signing_key().public_key())
    message = f"DB2.K7MQ4P.42.2.{real_kid}"
    forged = f"{message}.{tickets._b32(other.sign(message.encode()))}"
    assert tickets.verify(forged) is None


def test_tablets_get_public_keys_only(app):
    published = tickets.public_keys_for_devices()
    seed = base64.b64decode(app.config["TICKET_SIGNING_KEY"])
    assert len(published) == 1
    (kid, text), = published.items()
    raw = base64.b64decode(text)
    assert len(raw) == 32 and raw != seed
    assert kid == tickets.key_id(Ed25519PublicKey.from_public_bytes(raw))


def test_rolled_key_still_verifies_its_tickets(app):
    old = Ed25519PrivateKey.generate()
    token = tickets.sign_values("K7MQ4P", 42, 2, key=old)
    assert tickets.verify(token) is None
    app.config["TICKET_PUBLIC_KEYS"] = [base64.b64encode(tickets.raw_public(old.public_key())).decode()]
    assert tickets.verify(token) == tickets.TicketPayload("K7MQ4P", 42, 2)
    assert len(tickets.public_keys_for_devices()) == 2


def test_legacy_hmac_tokens_verify_as_legacy(app):
    token = tickets.legacy_token("K7MQ4P", 42, 2)
    assert token.startswith("DB1.K7MQ4P.42.2.")
    assert tickets.verify(token) == tickets.TicketPayload("K7MQ4P", 42, 2, legacy=True)
    other_key = tickets.verification_key("a-different-server-secret")
    assert tickets.verify(tickets.legacy_token("K7MQ4P", 42, 2, key=other_key)) is None
    assert tickets.legacy_digest("K7MQ4P", 42, 2) == hashlib.sha256(token.encode()).hexdigest()


def test_production_without_ticket_key_refuses_to_start(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://bus.example.org")
    monkeypatch.delenv("TICKET_SIGNING_KEY", raising=False)
    with pytest.raises(ConfigError, match="TICKET_SIGNING_KEY is not set"):
        create_app({"APP_ENV": "production"})


@pytest.mark.parametrize("bad", ["not base64!", "c2hvcnQ="])
def test_bad_ticket_key_refuses_to_start(monkeypatch, bad):
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://bus.example.org")
    monkeypatch.setenv("TICKET_SIGNING_KEY", bad)
    with pytest.raises(ConfigError, match="TICKET_SIGNING_KEY is not a usable"):
        create_app({"APP_ENV": "production"})


def test_development_key_is_made_once_in_instance(monkeypatch, tmp_path):
    monkeypatch.delenv("TICKET_SIGNING_KEY", raising=False)
    first = load(str(tmp_path), {"APP_ENV": "development"})["TICKET_SIGNING_KEY"]
    second = load(str(tmp_path), {"APP_ENV": "development"})["TICKET_SIGNING_KEY"]
    assert first == second and (tmp_path / "ticket-signing-key").read_text().strip() == first


@pytest.mark.parametrize("junk", ["", "DB1", "DB1.K7MQ4P.42.2", "DB2.K7MQ4P.42.2.AAAA", "hello world", None, 42,
                                  "DB1.K7MQ4P.42.0." + "A" * 32, "DB2.K7MQ4P.42.2.0000ABCD." + "A" * 103,
                                  "DB3.K7MQ4P.42.2.0000ABCD." + "A" * 103])
def test_malformed_tokens_are_rejected(app, junk):
    assert tickets.verify(junk) is None


def test_verification_key_is_not_the_secret_key(app):
    key = tickets.verification_key()
    assert len(key) == 32
    assert app.config["SECRET_KEY"].encode() not in key


def test_codes_avoid_ambiguous_characters():
    assert not set("0O1IL") & set(CODE_ALPHABET)
    codes = {new_code() for _ in range(500)}
    assert len(codes) == 500
    assert all(len(c) == 6 and set(c) <= set(CODE_ALPHABET) for c in codes)


def test_typed_codes_are_normalised():
    assert normalize_code(" k7m-q4p ") == "K7MQ4P"
