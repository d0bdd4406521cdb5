"""Every real-world message in the corpus goes through the intake door without a fault,
on SQLite and PostgreSQL, and no bounce, auto-reply or list message is ever answered."""

from __future__ import annotations

from mailbot.adapters.parse import parse_message
from mailbot.app import App
from mailbot.services.ports import NotAnEmail
from tests.conftest import FIXTURES

CORPUS = FIXTURES / "corpus"
SILENT_FOLDERS = ("bounces", "autoreplies")


def test_whole_corpus(app: App) -> None:
    intake = app.intake()
    files = sorted(CORPUS.glob("*/*.eml"))
    assert len(files) == 324
    outcomes: dict[str, int] = {}
    silent_senders: set[str] = set()
    for path in files:
        raw = path.read_bytes()
        result = intake.ingest(raw, "feedback")
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
        assert not result.detail.startswith("quarantine item") or \
            "internal error" not in result.detail, f"{path.name}: {result.detail}"
        if path.parent.name in SILENT_FOLDERS:
            try:
                inbound = parse_message(raw)
            except NotAnEmail:
                continue
            for address in (inbound.contact, inbound.from_):
                if address is not None:
                    silent_senders.add(address.email.lower())
    answered = {i["to"][0].lower() for i in app.store.outbox()
                if i["template"].endswith("acknowledgement")}
    assert not answered & silent_senders
    assert all("internal error" not in q["reason"] for q in app.store.quarantined())
    assert outcomes.get("case", 0) > 250
