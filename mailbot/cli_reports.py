"""The commands that only read the record and print it: cases, show, outbox, status.

They change nothing and need no mailbox, relay or lock, so they live apart from the
commands that do the mail work (cli.py), which dispatches to them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from mailbot.app import App
from mailbot.domain.health import assess
from mailbot.output import print_json, print_table
from mailbot.services.ports import CaseFilter

CASE_COLUMNS = (("reference", "Reference", 12), ("kind", "Kind", 19), ("status", "Status", 9),
                ("service", "Service", 22), ("contact_email", "Contact", 30),
                ("received", "Received", 10), ("response_due", "Due", 10),
                ("ombudsman", "Ombudsman", 9), ("subject", "Subject", 40))
OUTBOX_COLUMNS = (("id", "Id", 6), ("case", "Case", 12), ("template", "Template", 16),
                  ("status", "Status", 7), ("to", "To", 36), ("subject", "Subject", 60))


def _case_rows(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**c, "service": c["service"] or "(triage)",
             "contact_email": (c["contact"] or {}).get("email"),
             "received": str(c["received_at"])[:10]} for c in cases]


def cmd_cases(app: App, args: argparse.Namespace) -> int:
    cases = app.store.cases(CaseFilter(args.status, args.kind, args.service))
    if args.json:
        print_json(cases)
    else:
        print_table(_case_rows(cases), CASE_COLUMNS, empty="(no cases)")
    return 0


def cmd_show(app: App, args: argparse.Namespace) -> int:
    case = app.store.case_detail(args.reference)
    if case is None:
        print(f"mailbot: no case {args.reference}", file=sys.stderr)
        return 1
    if args.json:
        print_json(case)
        return 0
    for key in ("reference", "kind", "stage", "status", "service", "directorate", "contact",
                "subject", "received_at", "acknowledge_due", "response_due", "ombudsman"):
        value = case[key]
        if key == "contact":
            value = f"{value['name']} <{value['email']}>".strip()
        print(f"{key.replace('_', ' ').capitalize():16} {value if value is not None else '-'}")
    print("\nMessages")
    for m in case["messages"]:
        arrow = "<-" if m["direction"] == "in" else "->"
        print(f"  {m['at']} {arrow} {m['from']} to {', '.join(m['to'])}: {m['subject']}")
        for a in m["attachments"]:
            print(f"      attachment {a['filename']} ({a['content_type']}, {a['size']} bytes)")
    print("\nEvents")
    for e in case["events"]:
        print(f"  {e['at']} {e['kind']:18} {e['actor']}: {e['detail']}")
    return 0


def cmd_outbox(app: App, args: argparse.Namespace) -> int:
    items = app.store.outbox(args.status)
    if args.json:
        print_json(items)
    else:
        print_table([{**i, "to": ", ".join(i["to"])} for i in items], OUTBOX_COLUMNS,
                    empty="(outbox empty)")
    return 0


def cmd_status(app: App, args: argparse.Namespace) -> int:
    now = app.clock.now()
    facts = app.store.health_facts(now, {
        box.name: dt.timedelta(seconds=box.poll_interval) for box in app.settings.mailboxes})
    health = assess(facts, now, dt.timedelta(minutes=args.max_unsent_age))
    if args.json:
        print_json(health.as_dict())
    else:
        print("\n".join(health.lines()))
    return 0 if health.healthy else 1
