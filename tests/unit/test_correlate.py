"""Thread keys: tokens only from our own reply addresses and Message-IDs, any case."""

from mailbot.adapters.parse import parse_message
from mailbot.domain.correlate import thread_keys

TOKEN = "abcdefghijklmnopqrst"
OURS = frozenset({"stoke-example.gov.uk"})
LOCALS = frozenset({"feedback", "casework"})


def keys_of(headers: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    raw = f"From: a@example.com\r\n{headers}\r\nSubject: s\r\n\r\nbody\r\n".encode()
    keys = thread_keys(parse_message(raw), OURS, LOCALS, "CF")
    return keys.tokens, keys.bounce_tokens


def test_token_in_our_sub_address_any_case() -> None:
    assert keys_of(f"To: Feedback+{TOKEN}@Stoke-Example.GOV.uk") == ((TOKEN,), ())


def test_token_in_our_message_id() -> None:
    assert keys_of(f"In-Reply-To: <0123abcd.{TOKEN}@STOKE-example.gov.uk>") == ((TOKEN,), ())


def test_other_domains_and_mailboxes_are_ignored() -> None:
    assert keys_of(f"To: feedback+{TOKEN}@elsewhere.example") == ((), ())
    assert keys_of(f"To: someone+{TOKEN}@stoke-example.gov.uk") == ((), ())
    assert keys_of(f"In-Reply-To: <x.{TOKEN}@elsewhere.example>") == ((), ())


def test_bounce_tag() -> None:
    assert keys_of("To: feedback+b-zzzzzzzzzzzzzzzzzzzz@stoke-example.gov.uk") == (
        (), ("zzzzzzzzzzzzzzzzzzzz",))
