"""Templates to email: Jinja2 with StrictUndefined, plain text first and HTML second.

A template that names a value the context lacks fails loudly at render time (and every
template is rendered in the tests), rather than sending "Dear ," to a resident.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    TemplateSyntaxError,
    select_autoescape,
)

from mailbot.tomlcheck import ConfigError

PACKAGED_TEMPLATES = Path(__file__).parent / "templates"
TEMPLATES = ("acknowledgement", "routed_case", "follow_up_acknowledgement", "routed_follow_up",
             "response", "extension_notice", "stage2_acknowledgement", "window_closed",
             "exclusion", "command_reply", "reminder", "overdue", "escalation", "ack_warning",
             "holding_update", "weekly_summary", "digest")
PARTS = ("subject", "txt", "html")


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def long_date(day: dt.date | None) -> str:
    """As people write it in a letter: "Monday 11 January 2027". In English whatever the
    host's locale, and without strftime's locale lookups (a letter has several dates)."""
    if day is None:
        return ""
    return f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


class Renderer:
    def __init__(self, site_templates: Path | None = None) -> None:
        loaders = [FileSystemLoader(str(PACKAGED_TEMPLATES))]
        if site_templates is not None and site_templates != PACKAGED_TEMPLATES:
            loaders.insert(0, FileSystemLoader(str(site_templates)))
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html.j2",),
                                         default_for_string=False),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            # Compiled once by check() and never read from disk again: an edit takes effect
            # on reload (SIGHUP), all or nothing, never half-way through a running daemon.
            auto_reload=False,
            cache_size=-1,
        )
        self.env.filters["long_date"] = long_date

    def check(self) -> None:
        """Compile every template now (partials too), so a syntax error stops start-up or
        a reload, not a reply."""
        needed = [f"{name}.{part}.j2" for name in TEMPLATES for part in PARTS]
        for template in dict.fromkeys([*needed, *self.env.list_templates(extensions=["j2"])]):
            try:
                self.env.get_template(template)
            except TemplateSyntaxError as exc:
                raise ConfigError(f"{exc.filename}:{exc.lineno}: {exc.message}") from None
            except TemplateNotFound as exc:
                raise ConfigError(f"template {exc.name} not found") from None

    def render(self, name: str, context: dict[str, Any]) -> Rendered:
        subject, text, html = (self.env.get_template(f"{name}.{part}.j2").render(context)
                               for part in PARTS)
        return Rendered(" ".join(subject.split()), text, html)
