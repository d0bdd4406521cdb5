"""Case references and reply tokens.

A reference (`CF-26-4K7Q`) is what people read aloud and type into a subject line, so it is
short, avoids look-alike characters and is random rather than sequential: the next
reference cannot be guessed from the last. It is not a secret, though; the per-case token
is, and only the token (carried in our Reply-To and Message-IDs) proves that a message
belongs to a case without further checks.
"""

from __future__ import annotations

import re

# Crockford-style: no 0/O, 1/I/L or U, so a reference survives being read over the phone.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
TOKEN_LENGTH = 20


def _encode(entropy: bytes, alphabet: str, length: int) -> str:
    if len(entropy) < length:
        raise ValueError(f"need at least {length} bytes of entropy")
    return "".join(alphabet[b % len(alphabet)] for b in entropy[:length])


def make_reference(prefix: str, year: int, entropy: bytes, length: int = 4) -> str:
    """`PREFIX-YY-XXXX`; the caller retries with fresh entropy if it is already taken."""
    return f"{prefix}-{year % 100:02d}-{_encode(entropy, ALPHABET, length)}"


def make_token(entropy: bytes) -> str:
    """A lower-case secret safe in an email sub-address (`feedback+<token>@…`)."""
    return _encode(entropy, TOKEN_ALPHABET, TOKEN_LENGTH)


def find_references(text: str, prefix: str, length: int = 4) -> tuple[str, ...]:
    """Every reference in `text` as people type it (any case, hyphens or spaces or none),
    normalised to the canonical form, in first-seen order."""
    code = f"[{ALPHABET}]{{{length}}}"
    pattern = re.compile(
        rf"(?<![A-Za-z0-9]){re.escape(prefix)}[-\s]?(\d{{2}})[-\s]?({code})(?![A-Za-z0-9])",
        re.IGNORECASE)
    found: list[str] = []
    for match in pattern.finditer(text):
        ref = f"{prefix.upper()}-{match.group(1)}-{match.group(2).upper()}"
        if ref not in found:
            found.append(ref)
    return tuple(found)
