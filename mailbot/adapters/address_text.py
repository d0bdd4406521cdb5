"""Address fields read as pairs of display name and address: plain ones without the email
package's full parser, the rest with it.

The default policy's parse of an address field (From, To) was a tenth of the work of
filing a message (profiling): its RFC 5322 parser builds a token tree for every field.
Most fields are as plain as `Zoë Smith <zoe@example.net>` spelled in ASCII, and for
those the answer is certain from the text itself. `plain_addresses` reads only such
fields: one or more mailboxes of dot-atoms, with a display name of plain words or a quoted
string with no escapes, no encoded words (no `=` or `?` in a name), no comments, no
groups, no 8-bit text. Anything else it leaves (None) to `parsed_addresses`, the parser's
reading; a test holds the two to the same answer over every address field in the fixtures.
"""

from __future__ import annotations

import email.utils
import re
from email.message import Message

_ATOM = r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]+"  # atext without "=" and "?" (encoded words)
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LOCAL = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"  # a dot-atom
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_ADDRESS = rf"{_LOCAL}@{_LABEL}(?:\.{_LABEL})+"
_QUOTED_CHAR = r"[!#-<>-\[\]-~]"  # printable ASCII but the quote, backslash and "="
_QUOTED = rf'"{_QUOTED_CHAR}(?:[ !#-<>-\[\]-~]*{_QUOTED_CHAR})?"'
_NAME = rf"{_ATOM}(?: {_ATOM})*|{_QUOTED}"
_MAILBOX = rf"(?:(?P<name>{_NAME}) ?)?<(?P<angled>{_ADDRESS})>|(?P<bare>{_ADDRESS})"
_ONE = re.compile(_MAILBOX)
_COMMA = re.compile(r", ?")


def plain_addresses(value: str) -> list[tuple[str, str]] | None:
    """(display name, address) pairs of a plain field, or None if it is not plain."""
    value = value.strip(" \t")
    pairs: list[tuple[str, str]] = []
    at = 0
    while True:
        found = _ONE.match(value, at)
        if found is None:
            return None
        name = found["name"] or ""
        pairs.append((name[1:-1] if name.startswith('"') else name,
                      found["angled"] or found["bare"]))
        at = found.end()
        if at == len(value):
            return pairs
        comma = _COMMA.match(value, at)
        if comma is None:
            return None
        at = comma.end()


def parsed_addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    """(name, address) pairs as the default policy parsed an address field (To, From...);
    others (Delivered-To) are split from their text."""
    try:
        header = msg.get(name)
        if header is None:
            return []
        if hasattr(header, "addresses"):
            return [(a.display_name, a.addr_spec) for a in header.addresses]
        return email.utils.getaddresses([str(header).strip()])
    except Exception:  # a malformed header must never stop intake
        return []
