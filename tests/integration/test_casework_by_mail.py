"""A whole case by email through real servers: a resident writes to the feedback mailbox
(Dovecot), mailbot acknowledges and routes (aiosmtpd sink), the officer answers into the
casework mailbox with #respond, and the resident gets the response."""

from __future__ import annotations

import asyncio
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from mailbot.app import App
from mailbot.clock import FixedClock
from mailbot.services.outbox import deliver
from mailbot.services.ports import CaseFilter
from mailbot.services.watch import poll_all
from tests.conftest import MAIL, MONDAY_MORNING, Sink
from tests.imapserver import DovecotServer


def cycle(app: App) -> None:
    sources = app.sources()
    for report in poll_all(list(sources.values()), list(sources), app.intake(), app.store,
                           app.clock):
        assert report.error is None, report.error
    asyncio.run(deliver(app.store, app.sender(), app.clock))


def test_stage1_case_by_email(imap_site: Path, dovecot: DovecotServer, smtp_sink: Sink) -> None:
    app = App.open(imap_site, FixedClock(MONDAY_MORNING))
    dovecot.append("feedback", "INBOX",
                   (MAIL / "complaint_council_tenant_damp.eml").read_bytes())
    cycle(app)
    delivered = {tuple(rcpt): message_from_bytes(raw, policy=policy.default)
                 for _, rcpt, raw in smtp_sink.messages}
    routed = delivered[("repairs.spoc@stoke-example.gov.uk",)]
    assert ("sarah.jones@example.com",) in delivered

    reply = EmailMessage()
    reply["From"] = "Head of Housing Repairs <repairs.head@stoke-example.gov.uk>"
    reply["To"] = routed["Reply-To"]
    reply["Subject"] = f"Re: {routed['Subject']}"
    reply["Message-ID"] = "<officer-1@stoke-example.gov.uk>"
    reply["In-Reply-To"] = routed["Message-ID"]
    reply.set_content("#respond outcome=upheld\n\nDear Ms Jones,\nA damp specialist will visit "
                      "on 2 December and the work will be finished by Christmas.\n\n"
                      "> A new complaint has been routed to Housing Repairs")
    assert routed["Reply-To"].startswith("casework+")
    dovecot.append("casework", "INBOX", bytes(reply))
    cycle(app)
    response = next(message_from_bytes(raw, policy=policy.default)
                    for _, rcpt, raw in smtp_sink.messages
                    if rcpt == ["sarah.jones@example.com"] and b"Our response" in raw)
    text = response.get_body(("plain",)).get_content()
    assert "damp specialist will visit" in text and "routed to Housing Repairs" not in text
    assert "upheld" in text and "Housing Ombudsman Service" in text
    assert dovecot.folder_uids("casework", "INBOX") == []
    (case,) = app.store.cases(CaseFilter())
    assert (case["status"], case["outcome"], case["on_time"]) == ("responded", "upheld", True)
    app.close()
