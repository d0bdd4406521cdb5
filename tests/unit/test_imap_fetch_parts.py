"""A fetched message's UID wherever the server puts it: before the literal (Dovecot) or
after it (Exchange, mail.ru), as RFC 3501 allows both."""

from __future__ import annotations

from mailbot.adapters.imap_source import RawMessage

BODY = b"Subject: hi\r\n\r\nhello\r\n"


def test_uid_before_the_body() -> None:
    message = RawMessage([(b"3 (UID 41 FLAGS () RFC822.SIZE 22 BODY[] {22}", BODY), b")"])
    assert (message.uid, message.raw) == (41, BODY)


def test_uid_after_the_body() -> None:
    message = RawMessage([(b"3 (BODY[] {22}", BODY), b" UID 41 FLAGS (\\Seen))"])
    assert (message.uid, message.raw) == (41, BODY)


def test_no_uid_is_zero_and_the_message_is_fetched_again_later() -> None:
    assert RawMessage([(b"3 (BODY[] {22}", BODY), b")"]).uid == 0
