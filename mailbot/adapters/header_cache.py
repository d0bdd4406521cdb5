"""The stdlib's email policy, made to parse each short header value once."""

from __future__ import annotations

from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry
from functools import lru_cache
from typing import Any

CACHED_HEADER_CHARS = 200
CACHED_HEADERS = 64


class _HeadersParsedOnce(HeaderRegistry):
    """The default policy's header factory, without its repeated work.

    The stdlib parses a header every time it is read and makes a new class for it each
    time; reading one message's Content-Type alone takes a dozen parses (every
    get_content_type, get_filename and charset lookup), which profiling showed was most of
    the cost of parsing. Parsed headers are immutable, so a value seen just before (in
    this message, or the last: "text/plain; charset=utf-8") is parsed once. A parsed
    header is large (some 40 KB for 100 characters of addresses), so only a few short
    values are kept: a cache of 4,096 grew the daemon by 40 MB and was no faster.
    """

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[type, type] = {}
        self._parsed = lru_cache(maxsize=CACHED_HEADERS)(self._parse)

    def __getitem__(self, name: str) -> type[BaseHeader]:
        base = self.registry.get(name.lower(), self.default_class)
        made = self._classes.get(base)
        if made is None:
            made = self._classes[base] = type("_" + base.__name__, (base, self.base_class), {})
        return made

    def _parse(self, name: str, value: str) -> Any:
        return self[name](name, value)

    def __call__(self, name: str, value: str) -> Any:
        if len(value) > CACHED_HEADER_CHARS:
            return self._parse(name, value)
        return self._parsed(name, value)


PARSING_POLICY = policy.default.clone(header_factory=_HeadersParsedOnce())
