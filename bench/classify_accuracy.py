"""Kind and service accuracy of the example rules on the labelled email sets.

    python bench/classify_accuracy.py [--misses] [FOLDER ...]

FOLDER defaults to tests/fixtures/classify and tests/fixtures/classify_holdout. A service
label of "triage" means a careful person could not place the message; sending a placeable
message to triage counts as a miss, but a cheap one, and is reported separately from
routing to the wrong service.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

from mailbot.adapters.parse import parse_message
from mailbot.domain.decide import decide_new_case
from mailbot.domain.rules import Rules
from mailbot.domain.workdays import Calendar
from mailbot.rules_files import load_rules
from mailbot.site_init import DEFAULT_RULES

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = (ROOT / "tests/fixtures/classify", ROOT / "tests/fixtures/classify_holdout")
NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Outcome:
    file: str
    kind: str
    service: str
    got_kind: str
    got_service: str

    @property
    def wrong_service(self) -> bool:
        """Sent to a service that is not the right one (worse than triage)."""
        return self.got_service not in (self.service, "triage")


def evaluate(folder: Path, rules: Rules) -> list[Outcome]:
    calendar = Calendar.for_england([2026, 2027])
    outcomes = []
    with (folder / "labels.tsv").open(encoding="utf-8") as labels:
        for row in csv.DictReader(labels, delimiter="\t"):
            inbound = parse_message((folder / row["file"]).read_bytes())
            case = decide_new_case(inbound, rules, calendar, NOW).new_case
            outcomes.append(Outcome(row["file"], row["kind"], row["service"], case.kind.value,
                                    case.service or "triage"))
    return outcomes


def summary(outcomes: list[Outcome]) -> tuple[float, float, int, int]:
    n = len(outcomes)
    kind_ok = sum(o.kind == o.got_kind for o in outcomes)
    service_ok = sum(o.service == o.got_service for o in outcomes)
    wrong = sum(o.wrong_service for o in outcomes)
    to_triage = sum(o.got_service == "triage" != o.service for o in outcomes)
    return kind_ok / n, service_ok / n, wrong, to_triage


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list every miss")
    parser.add_argument("folders", nargs="*", type=Path, default=list(FOLDERS))
    args = parser.parse_args()
    rules = load_rules(DEFAULT_RULES)
    print("| set | emails | kind accuracy | service accuracy | wrong service | sent to triage |")
    print("|---|---|---|---|---|---|")
    for folder in args.folders:
        outcomes = evaluate(folder, rules)
        kind, service, wrong, triage = summary(outcomes)
        print(f"| {folder.name} | {len(outcomes)} | {kind:.0%} | {service:.0%} | {wrong} | "
              f"{triage} |")
        if args.misses:
            for o in outcomes:
                if o.kind != o.got_kind or o.service != o.got_service:
                    print(f"    {o.file}: kind {o.kind}->{o.got_kind}, "
                          f"service {o.service}->{o.got_service}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
