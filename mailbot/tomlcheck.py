"""A typed reader for TOML tables whose errors name the file, the key and its line.

Configuration is read by people at 3 a.m. after an edit; "services.toml:42: services.waste.
spoc: expected an email address" is an answer, a KeyError is not. Unknown keys are errors
too, because a misspelt optional key would otherwise be silently ignored.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_MISSING: Any = object()


class ConfigError(Exception):
    """A configuration problem, already phrased for the person who must fix it."""


class TomlFile:
    """One parsed TOML file, kept with its text so that errors can give line numbers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{path}: file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read: {exc}") from None
        try:
            data = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        self.root = Table(self, data, "")

    def line_of(self, table: str, key: str, occurrence: int = 0) -> int | None:
        """Best-effort line of `key` in `table`: its `key =` line inside that table's
        section (the n-th `[[table]]` for an array), else the section header."""
        lines = self.text.splitlines()
        start = 0
        if table:
            header = re.compile(rf"^\s*\[\[?\s*{re.escape(table)}\s*\]\]?\s*(#.*)?$")
            found = [n for n, line in enumerate(lines) if header.match(line)]
            if occurrence < len(found):
                start = found[occurrence] + 1
        key_line = re.compile(rf'^\s*"?{re.escape(key)}"?\s*=')
        for number in range(start, len(lines)):
            if start and re.match(r"^\s*\[", lines[number]):
                break
            if key and key_line.match(lines[number]):
                return number + 1
        return start or None


class Table:
    """A TOML table being read; every key read is remembered for `finish()`."""

    def __init__(self, file: TomlFile, data: dict[str, Any], path: str,
                 occurrence: int = 0) -> None:
        self.file = file
        self.data = data
        self.path = path
        self.occurrence = occurrence
        self._seen: set[str] = set()

    def _dotted(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, message: str) -> NoReturn:
        dotted = self._dotted(key) if key else self.path
        line = self.file.line_of(self.path, key, self.occurrence)
        where = f"{self.file.path}:{line}" if line else f"{self.file.path}"
        raise ConfigError(f"{where}: {dotted or '(top level)'}: {message}")

    def _get(self, key: str, default: Any, types: tuple[type, ...], what: str) -> Any:
        self._seen.add(key)
        if key not in self.data:
            if default is _MISSING:
                self.fail(key, "missing (required)")
            return default
        value = self.data[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            self.fail(key, f"expected {what}, got {value!r}")
        return value

    def string(self, key: str, default: Any = _MISSING, choices: tuple[str, ...] = ()) -> Any:
        value = self._get(key, default, (str,), "a string")
        if choices and value is not default and value not in choices:
            self.fail(key, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def email(self, key: str, default: Any = _MISSING) -> Any:
        value = self.string(key, default)
        if value is not default and not EMAIL.match(value):
            self.fail(key, f"expected an email address, got {value!r}")
        return value

    def integer(self, key: str, default: Any = _MISSING, minimum: int = 0,
                maximum: int | None = None) -> Any:
        value = self._get(key, default, (int,), "an integer")
        if value is not default and value < minimum:
            self.fail(key, f"must be at least {minimum}, got {value}")
        if value is not default and maximum is not None and value > maximum:
            self.fail(key, f"must be at most {maximum}, got {value}")
        return value

    def boolean(self, key: str, default: Any = _MISSING) -> Any:
        return self._get(key, default, (bool,), "true or false")

    def strings(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default, (list,), "a list of strings")
        if value is not default and not all(isinstance(v, str) for v in value):
            self.fail(key, f"expected a list of strings, got {value!r}")
        return value

    def integers(self, key: str, default: Any = _MISSING, minimum: int = 0,
                 maximum: int = 10**9) -> Any:
        value = self._get(key, default, (list,), "a list of whole numbers")
        if value is not default and not all(
                type(v) is int and minimum <= v <= maximum for v in value):
            self.fail(key, f"expected whole numbers from {minimum} to {maximum}, got {value!r}")
        return value

    def table(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default, (dict,), "a table")
        return Table(self.file, value, self._dotted(key)) if value is not default else default

    def tables(self, key: str) -> list[Table]:
        """An array of tables (`[[key]]`)."""
        value = self._get(key, [], (list,), "an array of tables")
        if not all(isinstance(v, dict) for v in value):
            self.fail(key, "expected an array of tables ([[...]])")
        return [Table(self.file, v, self._dotted(key), n) for n, v in enumerate(value)]

    def items(self) -> Iterator[tuple[str, Table]]:
        """Sub-tables keyed by name (`[services.waste]`); all keys count as read."""
        for key in self.data:
            yield key, self.table(key)

    def weights(self) -> dict[str, int]:
        """A table of `"phrase" = weight` pairs; a phrase needs at least one letter or digit."""
        for key in self.data:
            if not re.search(r"\w", key.replace("*", "")):
                self.fail(key, "a phrase needs at least one letter or digit")
        return {key: self.integer(key, minimum=1) for key in list(self.data)}

    def finish(self) -> None:
        """Fail on any key nobody read: almost always a typo."""
        unknown = sorted(set(self.data) - self._seen)
        if unknown:
            self.fail(unknown[0], "unknown key (misspelt?)")
