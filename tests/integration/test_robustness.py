"""What real mail and real operations do to the slice, on SQLite and PostgreSQL alike:
odd bytes, our own mail coming back, two senders at once, a sender that crashed."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from pathlib import Path

from mailbot.app import App
from mailbot.clock import FixedClock
from mailbot.services.outbox import CLAIM_LEASE, IN_FLIGHT_FACTOR, deliver
from mailbot.services.ports import CaseFilter
from tests.conftest import MAIL, MONDAY_MORNING, Sink

ODD = {
    "nul_subject": b"From: a@example.com\r\nSubject: =?utf-8?q?bin=00s?=\r\n\r\nmissed bin\r\n",
    "long_name": b"From: " + b"N" * 400 + b" <b@example.com>\r\nSubject: x\r\n\r\nbins\r\n",
    "raw_8bit": "From: José <jose@example.com>\r\nSubject: Café\r\n\r\nbins\r\n".encode(),
    "latin1_8bit": "From: Zoë <zoe@example.com>\r\nSubject: Zoë\r\n\r\nbins\r\n".encode("latin-1"),
    "injection": (b"From: c@example.com\r\nSubject: x\r\n"
                  b"Message-ID: =?utf-8?q?x=0D=0ABcc_:_victim@evil.example?=\r\n\r\nbins\r\n"),
    "eai_sender": "From: Zoë <zoë@example.com>\r\nSubject: bins\r\n\r\nbins\r\n".encode(),
    "idn_domain": "From: Jo <jo@bücher.example>\r\nSubject: bins\r\n\r\nbins\r\n".encode(),
}


def test_odd_input_opens_cases_on_every_database(app: App) -> None:
    intake = app.intake()
    results = {name: intake.ingest(raw, "feedback") for name, raw in ODD.items()}
    assert {name: r.outcome for name, r in results.items()} == dict.fromkeys(ODD, "case")
    outbox = app.store.outbox()
    acknowledged = {i["to"][0] for i in outbox if i["template"] == "acknowledgement"}
    assert "zoë@example.com" not in acknowledged
    assert "jo@bücher.example" in acknowledged
    assert all(b"victim@evil" not in i["raw"].encode() for i in outbox)
    eai = app.store.case_detail(str(results["eai_sender"].reference))
    assert eai is not None
    assert any("SMTPUTF8" in e["detail"] for e in eai["events"])


def test_our_own_mail_coming_back_is_not_a_case(app: App) -> None:
    intake = app.intake()
    intake.ingest((MAIL / "triage_unclear.eml").read_bytes(), "feedback")
    for item in app.store.outbox():
        echoed = b"Received: from mx.stoke-example.gov.uk\r\n" + item["raw"].encode()
        result = intake.ingest(echoed, "feedback")
        assert result.outcome == "duplicate" and "our own outgoing message" in result.detail
    assert len(app.store.cases(CaseFilter())) == 1


def test_same_message_in_two_processes_at_once(app: App, site: Path) -> None:
    other = App.open(site, FixedClock(MONDAY_MORNING))
    raws = [(MAIL / n).read_bytes() for n in ("compliment_bin_crew.eml",
                                               "comment_library_sunday.eml",
                                               "complaint_homelessness_delay.eml")]
    outcomes: list[str] = []
    for raw in raws:
        barrier = threading.Barrier(2)

        def run(target: App, raw: bytes = raw, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            outcomes.append(target.intake().ingest(raw, "feedback").outcome)

        threads = [threading.Thread(target=run, args=(a,)) for a in (app, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    other.close()
    assert sorted(outcomes) == ["case"] * 3 + ["duplicate"] * 3
    assert len(app.store.cases(CaseFilter())) == 3
    assert app.store.quarantined() == []


def test_two_senders_at_once_deliver_each_message_once(app: App, site: Path,
                                                       smtp_sink: Sink) -> None:
    intake = app.intake()
    for name in ("compliment_bin_crew.eml", "comment_library_sunday.eml",
                 "complaint_homelessness_delay.eml", "mp_enquiry_parking.eml"):
        intake.ingest((MAIL / name).read_bytes(), "feedback")
    other = App.open(site, FixedClock(MONDAY_MORNING))

    async def both() -> None:
        await asyncio.gather(deliver(app.store, app.sender(), app.clock, batch=3),
                             deliver(other.store, other.sender(), other.clock, batch=3))

    asyncio.run(both())
    other.close()
    ids = [raw.split(b"Message-ID: ")[1].split(b"\r\n")[0] for _, _, raw in smtp_sink.messages]
    assert len(ids) == 8 and len(set(ids)) == 8
    assert {i["status"] for i in app.store.outbox()} == {"sent"}


def test_a_batch_goes_over_the_relays_connections_each_message_once(
        app: App, smtp_sink: Sink) -> None:
    intake = app.intake()
    for name in ("compliment_bin_crew.eml", "comment_library_sunday.eml",
                 "complaint_homelessness_delay.eml", "mp_enquiry_parking.eml"):
        intake.ingest((MAIL / name).read_bytes(), "feedback")
    assert app.sender().connections == 3  # the default
    report = asyncio.run(deliver(app.store, app.sender(), app.clock))
    ids = [raw.split(b"Message-ID: ")[1].split(b"\r\n")[0] for _, _, raw in smtp_sink.messages]
    assert len(ids) == 8 and len(set(ids)) == 8 and sorted(report.sent) == sorted(
        i["id"] for i in app.store.outbox())
    assert len(smtp_sink.peers) == 3
    assert {i["status"] for i in app.store.outbox()} == {"sent"}


def test_a_crashed_senders_claims_go_at_once_but_its_message_in_flight_waits(
        app: App, site: Path, smtp_sink: Sink) -> None:
    app.intake().ingest((MAIL / "compliment_bin_crew.eml").read_bytes(), "feedback")
    with app.store.transaction() as tx:  # a sender claims both, starts the first, "dies"
        first, second = tx.claim_due(MONDAY_MORNING, 10, CLAIM_LEASE, "dead")
    with app.store.transaction() as tx:
        assert tx.begin_send(first.id, "dead", MONDAY_MORNING, CLAIM_LEASE)
    asyncio.run(deliver(app.store, app.sender(), app.clock))
    assert [raw for _, _, raw in smtp_sink.messages] == [second.raw]
    # The first may have reached the relay: it waits until that transaction must be over.
    over = dt.timedelta(seconds=IN_FLIGHT_FACTOR * app.sender().send_deadline)
    later = App.open(site, FixedClock(MONDAY_MORNING + over + dt.timedelta(seconds=1)))
    asyncio.run(deliver(later.store, later.sender(), later.clock))
    later.close()
    assert [raw for _, _, raw in smtp_sink.messages] == [second.raw, first.raw]
