"""Wiring: settings, rules, adapters and services. The only module that knows them all."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path

from mailbot.adapters.db.engine import BadDatabaseUrl
from mailbot.adapters.db.locks import Locks
from mailbot.adapters.db.repository import SqlStore
from mailbot.adapters.imap_source import ImapSource
from mailbot.adapters.parse import parse_message
from mailbot.adapters.smtp_sender import SmtpSender
from mailbot.adapters.systemd import notify, watchdog_interval
from mailbot.clock import Clock
from mailbot.domain.model import Address
from mailbot.domain.rules import Rules
from mailbot.domain.workdays import Calendar, london_date
from mailbot.rendering import Renderer
from mailbot.rules_files import load_rules
from mailbot.services.chasing import Chasing
from mailbot.services.compose import MailIdentity
from mailbot.services.daemon import Daemon, Handlers, Pacing, Supervision
from mailbot.services.intake import Intake
from mailbot.services.ports import MailSource
from mailbot.settings import Settings, load_settings, secret
from mailbot.tomlcheck import ConfigError


def build_calendar(rules: Rules, clock: Clock) -> Calendar:
    """Bank holidays from last year to three years ahead: far past any deadline we set."""
    year = london_date(clock.now()).year
    return Calendar.for_england(range(year - 1, year + 4), rules.council.closures)


@dataclass
class App:
    settings: Settings
    rules: Rules
    calendar: Calendar
    renderer: Renderer
    clock: Clock
    store: SqlStore

    @classmethod
    def open(cls, config: Path, clock: Clock) -> App:
        """Validate everything first, then touch the database (creating or migrating it)."""
        settings = load_settings(config)
        rules = load_rules(settings.rules_dir)
        renderer = Renderer(settings.templates_dir)
        renderer.check()
        try:
            store = SqlStore(settings.database_url)
        except BadDatabaseUrl as exc:
            raise ConfigError(f"{settings.path}: database.url: {exc}") from None
        return cls(settings, rules, build_calendar(rules, clock), renderer, clock, store)

    def reload(self) -> None:
        """Rules, templates and the calendar afresh, all validated before any is replaced:
        a bad edit raises ConfigError and leaves the app as it was."""
        rules = load_rules(self.settings.rules_dir)
        renderer = Renderer(self.settings.templates_dir)
        renderer.check()
        self.rules, self.renderer = rules, renderer
        self.calendar = build_calendar(rules, self.clock)

    @cached_property
    def locks(self) -> Locks:
        return Locks(self.store.engine)

    def close(self) -> None:
        if "locks" in self.__dict__:
            self.locks.close()
        self.store.close()

    @property
    def identity(self) -> MailIdentity:
        return MailIdentity(
            sender=Address(self.rules.council.feedback_team.name, self.settings.smtp.sender),
            domain=self.settings.mail_domain,
            reply_mailboxes={role: self.settings.mailbox_for_role(role).address
                             for role in ("feedback", "spoc")},
        )

    def intake(self) -> Intake:
        return Intake(self.store, parse_message, self.rules, self.calendar, self.renderer,
                      self.identity, self.clock,
                      {box.name: box.role for box in self.settings.mailboxes},
                      trusted_authserv_id=self.settings.trusted_authserv_id)

    def chasing(self) -> Chasing:
        return Chasing(self.store, self.rules, self.calendar, self.renderer, self.identity)

    def sources(self) -> dict[str, Callable[[], MailSource]]:
        """A connection factory per mailbox; secrets are read now, so a missing one is a
        configuration error before anything is polled."""
        factories: dict[str, Callable[[], MailSource]] = {}
        for box in self.settings.mailboxes:
            password = secret(box.password_env, f"mailboxes.{box.name}.password_env",
                              self.settings.path)
            factories[box.name] = partial(ImapSource, box, password)
        return factories

    def handlers(self) -> Handlers:
        return Handlers(self.intake(), self.chasing())

    def reloaded(self) -> Handlers:
        self.reload()
        return self.handlers()

    def daemon(self, stop: threading.Event) -> Daemon:
        """Mailbox settings and secrets are read once; rules and templates on each reload."""
        pacing = Pacing(self.settings.daemon.send_interval, self.settings.daemon.max_backoff)
        return Daemon(self.sources(), self.handlers(), self.store, self.sender(), self.clock,
                      pacing, stop, Supervision(self.reloaded, notify, watchdog_interval()),
                      self.locks)

    def sender(self) -> SmtpSender:
        smtp = self.settings.smtp
        return SmtpSender(smtp, secret(smtp.password_env, "smtp.password_env",
                                       self.settings.path))
