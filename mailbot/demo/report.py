"""What `mailbot demo` tells its reader: a day-by-day timeline of what arrived and what
mailbot did about it, the cases at the end, the mail by kind, and one weekly summary."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections import Counter
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TextIO

from mailbot.app import App
from mailbot.demo.sink import Sink
from mailbot.domain.workdays import LONDON
from mailbot.output import print_table
from mailbot.services.ports import CaseFilter

CASE_COLUMNS = (("reference", "Reference", 12), ("kind", "Kind", 19), ("stage", "Stage", 5),
                ("status", "Status", 9), ("service", "Service", 20),
                ("response_due", "Due", 10), ("ombudsman", "Ombudsman", 9),
                ("contact", "Contact", 34))


OMBUDSMEN = {"housing": "Housing Ombudsman",
             "lgsco": "Local Government and Social Care Ombudsman"}


class Report:
    def __init__(self, app: App, sink: Sink) -> None:
        self.app = app
        self.sink = sink
        self.timeline: list[str] = []
        self._cases: set[str] = set()
        self._items: dict[int, str] = {}
        self._answers = 0

    def after(self, at: dt.datetime, what: str | None) -> None:
        """Note what changed since the last step: new cases, mail queued, mail failed."""
        lines = []
        for case in self.app.store.cases(CaseFilter()):
            if case["reference"] not in self._cases:
                self._cases.add(case["reference"])
                lines.append(f"new case {case['reference']}: {case['kind']}, "
                             f"{case['service'] or 'Feedback Team triage'}"
                             + (f", respond by {_day(case['response_due'])}"
                                if case["response_due"] else "")
                             + (f", {OMBUDSMEN[case['ombudsman']]}" if case["ombudsman"] else ""))
        for item in self.app.store.outbox():
            before = self._items.get(item["id"])
            if before is None:
                lines.append(f"sent {item['template']} to {', '.join(item['to'])}"
                             + (f" ({item['case']})" if item["case"] else ""))
            if item["status"] == "failed" and before != "failed":
                lines.append(f"bounced: {item['template']} to {', '.join(item['to'])}, "
                             "marked failed; no further mail to that address")
            self._items[item["id"]] = item["status"]
        lines += [f"{answer}: kept, and nothing sent back"
                  for answer in self.sink.answers[self._answers:]]
        self._answers = len(self.sink.answers)
        if what is None and not lines:
            return
        when = at.astimezone(LONDON).strftime("%a %d %b %H:%M")
        self.timeline.append(f"{when}  {what or 'scheduled jobs'}")
        self.timeline += [f"      {line}" for line in lines or ["(nothing to send)"]]

    def print(self, out: TextIO, base: Path, weeks: int, seconds: float) -> None:
        site = base / "site" / "mailbot.toml"
        out.write(f"mailbot demo: {weeks} simulated weeks from Monday 23 November 2026, "
                  f"played in {seconds:.0f} s\n\nTimeline (London time)\n")
        out.write("".join(f"  {line}\n" for line in self.timeline))
        out.write("\nCases at the end\n")
        print_table([{**c, "contact": (c["contact"] or {}).get("email"),
                      "service": c["service"] or "(triage)"}
                     for c in self.app.store.cases(CaseFilter())], CASE_COLUMNS, out)
        items = self.app.store.outbox()
        kinds = Counter(i["template"] for i in items)
        out.write("\nMail sent, by kind: " + ", ".join(
            f"{n} {k}" for k, n in sorted(kinds.items())) + "\n")
        failed = sum(i["status"] == "failed" for i in items)
        out.write(f"  {len(self.sink.sent)} accepted by the SMTP sink; {failed} bounced\n")
        self._summary(out, items)
        out.write(f"\nEvery message sent is a .eml file in {base / 'sent'}\n"
                  f"Explore the cases: mailbot --config {site} cases  (or show REF, outbox, "
                  "status)\n")

    @staticmethod
    def _summary(out: TextIO, items: list[dict[str, Any]]) -> None:
        summaries = [(_plain(i["raw"]), i) for i in items if i["template"] == "weekly_summary"]
        if not summaries:
            return
        text, busiest = max(summaries, key=lambda pair: (pair[0].count("CF-"), pair[1]["id"]))
        out.write(f"\nThe busiest weekly summary, to {', '.join(busiest['to'])}:\n"
                  f"  Subject: {busiest['subject']}\n")
        out.write("".join(f"  | {line}\n" for line in text.splitlines()))


def _plain(raw: str) -> str:
    message = email.message_from_bytes(raw.encode(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(("plain",))
    return str(body.get_content()) if body is not None else ""


def _day(value: str) -> str:
    return dt.date.fromisoformat(value).strftime("%a %d %b")
