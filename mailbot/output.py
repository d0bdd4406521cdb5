"""Printing for people (tidy tables) and for programs (JSON), from the same plain data."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO


def print_json(data: Any, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    json.dump(data, out, indent=2, ensure_ascii=False, default=str)
    out.write("\n")


def _cell(value: Any, width: int) -> str:
    text = "" if value is None else str(value).replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str, int]],
                out: TextIO | None = None, empty: str = "(none)") -> None:
    """`columns` are (key, heading, max width); widths shrink to fit the data."""
    out = out or sys.stdout
    if not rows:
        out.write(empty + "\n")
        return
    cells = [[_cell(row.get(key), limit) for key, _, limit in columns] for row in rows]
    widths = [max(len(heading), *(len(line[i]) for line in cells))
              for i, (_, heading, _) in enumerate(columns)]
    out.write("  ".join(h.ljust(w) for (_, h, _), w in zip(columns, widths, strict=True))
              .rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for line in cells:
        out.write("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
                  + "\n")
