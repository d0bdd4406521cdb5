"""The first slice end to end through the CLI, on SQLite and on PostgreSQL 15:
init, ingest, cases, show, outbox, send to a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from mailbot.app import App
from mailbot.cli import main
from mailbot.clock import FixedClock
from tests.conftest import MAIL, MONDAY_MORNING, Sink

NOW = "2026-11-23T10:00:00"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILBOT_NOW", NOW)


def run(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--config", str(config), *args])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = run(config, capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def ingest(config: Path, capsys: pytest.CaptureFixture[str], *names: str) -> tuple[int, str, str]:
    return run(config, capsys, "ingest", "--mailbox", "feedback", *(str(MAIL / n) for n in names))


def test_one_email_becomes_an_acknowledged_routed_case(
        site: Path, capsys: pytest.CaptureFixture[str], smtp_sink: Sink) -> None:
    code, out, _ = ingest(site, capsys, "complaint_council_tenant_damp.eml")
    assert code == 0 and "new case CF-26-" in out

    (case,) = run_json(site, capsys, "cases")
    reference = case["reference"]
    assert case["kind"] == "complaint" and case["stage"] == 1 and case["status"] == "open"
    assert case["service"] == "housing_repairs" and case["directorate"] == "housing_ops"
    assert case["contact"] == {"name": "Sarah Jones", "email": "sarah.jones@example.com"}
    assert case["received_at"] == "2026-11-23T10:00:00+00:00"
    assert case["response_due"] == "2026-12-07"
    assert case["ombudsman"] == "housing"

    detail = run_json(site, capsys, "show", reference)
    directions = [m["direction"] for m in detail["messages"]]
    assert directions == ["in", "out", "out"]
    inbound = detail["messages"][0]
    assert inbound["message_id"] == "<damp-1@mail.example.com>"
    assert inbound["from"] == "sarah.jones@example.com" and "council tenant" in inbound["text"]
    kinds = [e["kind"] for e in detail["events"]]
    assert kinds[:2] == ["received", "classified"] and "routed" in kinds
    assert all(set(e) == {"at", "kind", "actor", "detail"} for e in detail["events"])

    outbox = run_json(site, capsys, "outbox")
    assert [(i["template"], i["status"], i["case"]) for i in outbox] == [
        ("acknowledgement", "queued", reference), ("routed_case", "queued", reference)]
    ack = message_from_bytes(outbox[0]["raw"].encode(), policy=policy.default)
    assert outbox[0]["to"] == ["sarah.jones@example.com"]
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"] == "<damp-1@mail.example.com>"
    assert ack["References"] == "<damp-1@mail.example.com>"
    assert ack["Message-ID"].endswith("@stoke-example.gov.uk>")
    assert ack["Reply-To"].startswith("feedback+")
    text = ack.get_body(("plain",)).get_content()
    for needed in (reference, "Monday 7 December 2026", "Housing Ombudsman Service",
                   "www.housing-ombudsman.org.uk", "0300 111 3000"):
        assert needed in text
    routed = message_from_bytes(outbox[1]["raw"].encode(), policy=policy.default)
    assert outbox[1]["to"] == ["repairs.spoc@stoke-example.gov.uk"]
    assert routed["Reply-To"].startswith("casework+")
    assert routed["Auto-Submitted"] == "auto-generated"
    assert "council tenant at 4 Hill Street" in routed.get_body(("plain",)).get_content()

    code, out, _ = run(site, capsys, "send")
    assert code == 0 and "sent 2" in out
    assert [m[1] for m in smtp_sink.messages] == [["sarah.jones@example.com"],
                                                  ["repairs.spoc@stoke-example.gov.uk"]]
    assert smtp_sink.messages[0][2].replace(b"\r\n", b"\n") == \
        outbox[0]["raw"].encode().replace(b"\r\n", b"\n")
    assert {i["status"] for i in run_json(site, capsys, "outbox")} == {"sent"}

    code, out, _ = run(site, capsys, "send")
    assert code == 0 and "sent 0" in out and len(smtp_sink.messages) == 2


def test_reingest_changes_nothing(site: Path, capsys: pytest.CaptureFixture[str],
                                  tmp_path: Path) -> None:
    ingest(site, capsys, "complaint_homelessness_delay.eml")
    before = (run_json(site, capsys, "cases"), run_json(site, capsys, "outbox"))
    code, out, _ = ingest(site, capsys, "complaint_homelessness_delay.eml")
    assert code == 0 and "already handled: same bytes" in out
    # The same message delivered again with an extra Received header: same Message-ID.
    copy = tmp_path / "copy.eml"
    copy.write_bytes(b"Received: from relay2.example.net\n" +
                     (MAIL / "complaint_homelessness_delay.eml").read_bytes())
    code, out, _ = run(site, capsys, "ingest", "--mailbox", "feedback", str(copy))
    assert code == 0 and "same Message-ID, sender and words" in out
    assert (run_json(site, capsys, "cases"), run_json(site, capsys, "outbox")) == before


def test_garbage_is_quarantined_and_never_answered(
        site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = ingest(site, capsys, "garbage_binary.eml", "empty.eml", "garbage_binary.eml")
    assert code == 1
    assert "not an RFC 5322 message" in err and "empty message" in err
    assert "Traceback" not in err
    items = run_json(site, capsys, "quarantine")
    assert [(i["mailbox"], i["size"]) for i in items] == [("feedback", 1500), ("feedback", 0)]
    assert {"id", "mailbox", "received_at", "reason", "size"} <= set(items[0])
    assert run_json(site, capsys, "cases") == [] and run_json(site, capsys, "outbox") == []


def test_every_kind_and_both_ombudsmen(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    names = sorted(p.name for p in MAIL.glob("*.eml")
                   if p.name not in ("empty.eml", "garbage_binary.eml"))
    code, _, err = ingest(site, capsys, *names)
    assert code == 0, err
    cases = {c["contact"]["email"]: c for c in run_json(site, capsys, "cases")}
    assert {c["kind"] for c in cases.values()} == {
        "complaint", "mp_enquiry", "comment", "compliment", "service_request",
        "childrens_statutory", "adult_social_care"}
    assert {c["ombudsman"] for c in cases.values()} == {"housing", "lgsco", None}
    assert len({c["reference"] for c in cases.values()}) == len(cases)
    outbox = run_json(site, capsys, "outbox")
    acknowledged = {i["to"][0] for i in outbox if i["template"] == "acknowledgement"}
    assert "jane.officer@example.com" not in acknowledged  # the out-of-office
    assert "jo.example.mp@parliament.uk" in acknowledged
    mp_ack = next(i for i in outbox if i["to"] == ["jo.example.mp@parliament.uk"])
    assert "on behalf of a constituent" in mp_ack["subject"]
    thanks = next(i for i in outbox if i["to"] == ["mags.hill@example.co.uk"])
    assert thanks["subject"].startswith("Thank you")

    filtered = run_json(site, capsys, "cases", "--kind", "mp_enquiry")
    assert [c["kind"] for c in filtered] == ["mp_enquiry"]
    triage = run_json(site, capsys, "cases", "--service", "triage")
    assert {c["contact"]["email"] for c in triage} == {"resident@example.com",
                                                        "jane.officer@example.com"}
    ooo = run_json(site, capsys, "show", cases["jane.officer@example.com"]["reference"])
    assert any(e["kind"] == "no_acknowledgement" for e in ooo["events"])


def test_attachments_listed_and_forwarded(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ingest(site, capsys, "complaint_with_attachment.eml")
    (case,) = run_json(site, capsys, "cases")
    detail = run_json(site, capsys, "show", case["reference"])
    (attachment,) = detail["messages"][0]["attachments"]
    assert attachment["filename"] == "pothole photo.png" and attachment["size"] > 1000
    routed = next(i for i in run_json(site, capsys, "outbox") if i["template"] == "routed_case")
    msg = message_from_bytes(routed["raw"].encode(), policy=policy.default)
    (forwarded,) = list(msg.iter_attachments())
    assert forwarded.get_filename() == "pothole photo.png"
    assert len(forwarded.get_content()) == attachment["size"]


def test_human_tables(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(site, capsys, "cases")
    assert code == 0 and "(no cases)" in out
    ingest(site, capsys, "triage_unclear.eml")
    code, out, _ = run(site, capsys, "cases")
    assert out.splitlines()[0].split()[:3] == ["Reference", "Kind", "Status"]
    assert "(triage)" in out
    reference = out.splitlines()[2].split()[0]
    code, out, _ = run(site, capsys, "show", reference.lower())
    assert code == 0 and "Messages" in out and "Events" in out
    code, out, _ = run(site, capsys, "outbox")
    assert code == 0 and "acknowledgement" in out
    code, _, err = run(site, capsys, "show", "CF-26-ZZZZ")
    assert code == 1 and "no case CF-26-ZZZZ" in err


def test_smtp_refusal_marks_failed_and_outage_defers(
        site: Path, capsys: pytest.CaptureFixture[str], smtp_sink: Sink) -> None:
    ingest(site, capsys, "compliment_bin_crew.eml")
    smtp_sink.refuse_with = "550 5.1.1 mailbox unavailable"
    code, out, err = run(site, capsys, "send")
    assert code == 1 and "failed 2" in out and "550" in err
    assert {i["status"] for i in run_json(site, capsys, "outbox")} == {"failed"}

    ingest(site, capsys, "comment_library_sunday.eml")
    smtp_sink.refuse_with = "451 4.3.0 try again later"
    code, out, _ = run(site, capsys, "send")
    assert code == 1 and "deferred 2" in out
    queued = run_json(site, capsys, "outbox", "--status", "queued")
    assert len(queued) == 2 and all(i["attempts"] == 1 for i in queued)


def test_relay_down_keeps_mail_queued(site: Path, capsys: pytest.CaptureFixture[str],
                                      smtp_sink: Sink) -> None:
    ingest(site, capsys, "compliment_bin_crew.eml")
    text = site.read_text().replace(f"port = {smtp_sink.port}", "port = 1")
    site.write_text(text)
    code, out, err = run(site, capsys, "send")
    assert code == 1 and "deferred 2" in out and "cannot reach SMTP relay" in err
    assert {i["status"] for i in run_json(site, capsys, "outbox")} == {"queued"}


def test_site_works_from_another_directory(site: Path, capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(MAIL / "compliment_bin_crew.eml", elsewhere / "m.eml")
    monkeypatch.chdir(elsewhere)
    code, _, err = run(site, capsys, "ingest", "--mailbox", "feedback", "m.eml")
    assert code == 0, err
    code, _, err = run(site, capsys, "ingest", "--mailbox", "nosuch", "m.eml")
    assert code == 2 and "no [[mailboxes]] entry named 'nosuch'" in err


def test_quarantine_release(site: Path, capsys: pytest.CaptureFixture[str],
                            tmp_path: Path) -> None:
    ingest(site, capsys, "garbage_binary.eml")
    (item,) = run_json(site, capsys, "quarantine")
    code, _, err = run(site, capsys, "quarantine", "release", str(item["id"]))
    assert code == 1 and "already in quarantine" in err
    code, _, err = run(site, capsys, "quarantine", "release", "999")
    assert code == 1 and "no quarantine item 999" in err
    assert len(run_json(site, capsys, "quarantine")) == 1


def test_released_item_becomes_a_case(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = App.open(site, FixedClock(MONDAY_MORNING))
    raw = (MAIL / "compliment_bin_crew.eml").read_bytes()
    with app.store.transaction() as tx:  # as if an earlier version had refused it
        item, _ = tx.quarantine(raw, "x" * 64, "feedback", "internal error: a bug since fixed",
                                MONDAY_MORNING)
    app.close()
    code, out, _ = run(site, capsys, "quarantine", "release", str(item))
    assert code == 0 and "new case CF-26-" in out
    assert run_json(site, capsys, "quarantine") == []
    (released,) = run_json(site, capsys, "quarantine", "--all")
    assert released["released_as"].startswith("new case")


def test_tick_queues_what_is_owed_at_mailbot_now_and_exits_0(
        site: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        smtp_sink: Sink) -> None:
    ingest(site, capsys, "complaint_council_tenant_damp.eml")  # due Mon 7 Dec
    monkeypatch.setenv("MAILBOT_NOW", "2026-12-02T08:30")  # 3 working days before
    code, out, _ = run(site, capsys, "tick")
    assert code == 0 and "1 reminder" in out
    assert run_json(site, capsys, "tick") == {"at": "2026-12-02T08:30:00+00:00",
                                              "queued": {}, "closed": 0, "notes": [],
                                              "errors": []}
    monkeypatch.setenv("MAILBOT_NOW", "2026-12-05T09:00")  # a Saturday
    code, out, _ = run(site, capsys, "tick")
    assert code == 0 and "nothing owed" in out and "not due" in out
    code, out, _ = run(site, capsys, "send")
    assert code == 0 and any(rcpts == ["repairs.spoc@stoke-example.gov.uk"]
                             for _, rcpts, _ in smtp_sink.messages)
