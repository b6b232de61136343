"""Signed ticket tokens: what the QR code on a ticket holds, and that a forged or altered one is refused."""
import re

import pytest

from busapp import tickets
from busapp.booking.service import CODE_ALPHABET, new_code, normalize_code


def test_token_round_trip(app):
    token = tickets.sign_values("K7MQ4P", 42, 2)
    assert token.startswith("DB1.K7MQ4P.42.2.")
    assert tickets.verify(token) == tickets.TicketPayload(code="K7MQ4P", workshop_id=42, party_size=2)


def test_token_uses_only_qr_alphanumeric_characters(app):
    # The QR alphanumeric mode (0-9, A-Z, space, $%*+-./:) makes a smaller code that old phones scan easily.
    token = tickets.sign_values(new_code(), 123456, 4)
    assert re.fullmatch(r"[0-9A-Z $%*+\-./:]+", token), token


@pytest.mark.parametrize("part, replacement", [
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


def test_token_signed_with_another_secret_is_rejected(app):
    other_key = tickets.verification_key("a-different-server-secret")
    forged = tickets.sign_values("K7MQ4P", 42, 2, key=other_key)
    assert tickets.verify(forged) is None
    # ...while a device holding that key accepts its own tokens: verification needs only the derived key.
    assert tickets.verify(forged, key=other_key) is not None


@pytest.mark.parametrize("junk", ["", "DB1", "DB1.K7MQ4P.42.2", "DB2.K7MQ4P.42.2.AAAA", "hello world", None, 42,
                                  "DB1.K7MQ4P.42.0." + "A" * 32])
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
