"""Strip quoted history and signatures from a reply, so a case shows what was *said*.

Mail clients quote in many ways (the corpus has Gmail, Outlook, Apple Mail, Yahoo, AOL,
Thunderbird and localised attributions). The full original is always kept in the raw
message; this only shapes `messages[].text`. When stripping would leave nothing (a reply
written below the quote), the quoted lines are dropped instead and the rest kept.
"""

from __future__ import annotations

import re

_WROTE = (r"(wrote|написал[аи]?|a écrit|schrieb|escribió|ha scritto|napisał[a]?|skrev|"
          r"kirjoitti|schreef)")
_ATTRIBUTION = re.compile(
    rf"^\s*(>\s*)?(-{{2,}}\s*)?(on|le|am|el|il|op|dnia|den)?\b.{{0,200}}{_WROTE}\s*:?\s*$",
    re.IGNORECASE)
_SEPARATOR = re.compile(
    r"^\s*(-{2,}\s*(original message|message d'origine|ursprüngliche nachricht|"
    r"mensaje original)\s*-{2,}|_{10,})\s*$",
    re.IGNORECASE)
_HEADER_BLOCK = re.compile(r"^\s*\*?(from|von|de|da)\*?\s*:\s*\S", re.IGNORECASE)
_HEADER_FOLLOW = re.compile(r"^\s*\*?(sent|date|to|subject|gesendet|envoyé|enviado)\*?\s*:",
                            re.IGNORECASE)
_SIGNATURE = re.compile(r"^\s*--\s*$")
_DEVICE_LINE = re.compile(
    r"^\s*(sent from my \w+.*|sent from (mail|outlook) for .*|get outlook for .*|"
    r"sent with sparrow.*|sent from yahoo mail.*|envoyé de mon .*|von meinem .* gesendet)\s*$",
    re.IGNORECASE)


_ENDS_WROTE = re.compile(rf"{_WROTE}\s*:?\s*$", re.IGNORECASE)


def _is_attribution(line: str) -> bool:
    """"On 2 April 2012, Bob <bob@x> wrote:" but not "Here is what the officer wrote:"."""
    return bool(_ATTRIBUTION.match(line)) and bool(re.search(r"[\d@<]", line))


def _cut_at(lines: list[str]) -> int | None:
    """Index of the first line where quoted history begins."""
    for i, line in enumerate(lines):
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if _SEPARATOR.match(line):
            return i
        if _is_attribution(line) or (
                _ENDS_WROTE.search(following) and not _ENDS_WROTE.search(line)
                and _is_attribution(f"{line} {following}")):
            return i
        if _HEADER_BLOCK.match(line) and any(
                _HEADER_FOLLOW.match(following) for following in lines[i + 1:i + 4]):
            return i
        if line.lstrip().startswith(">") and all(
                not rest.strip() or rest.lstrip().startswith(">") for rest in lines[i:]):
            return i
    return None


def _drop_signature(lines: list[str]) -> list[str]:
    kept = [line for line in lines if not _DEVICE_LINE.match(line)]
    for i, line in enumerate(kept):
        if _SIGNATURE.match(line) and len(kept) - i <= 12:
            return kept[:i]
    return kept


def strip_quoted(text: str, answer_below: bool = True) -> str:
    """`answer_below=False` when what is above the quote is all that may be used (a
    response going to a resident must never fall back to the quoted internal copy)."""
    lines = text.replace("\r\n", "\n").split("\n")
    cut = _cut_at(lines)
    body = lines[:cut] if cut is not None else lines
    if not "".join(body).strip() and answer_below:
        body = [line for line in lines
                if not line.lstrip().startswith(">") and not _is_attribution(line)]
    return "\n".join(_drop_signature(body)).strip()
