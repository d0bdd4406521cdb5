"""Load and validate `mailbot.toml`: where the database, the SMTP relay and the mailboxes are.

Secrets never live in the file: a key such as `password_env` names the environment variable
that holds the password, so the file can be shared and committed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from mailbot.rendering import PACKAGED_TEMPLATES
from mailbot.tomlcheck import ConfigError, Table, TomlFile

SECURITY = ("none", "starttls", "tls")
ROLES = ("feedback", "spoc")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    username: str | None
    password_env: str | None
    sender: str
    timeout: int = 60
    connections: int = 3


@dataclass(frozen=True)
class MailboxSettings:
    name: str
    role: str
    address: str
    host: str
    port: int
    security: str
    username: str | None
    password_env: str | None
    folder: str
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    idle: bool = True
    poll_interval: int = 60


@dataclass(frozen=True)
class DaemonSettings:
    """How `mailbot run` paces itself; the defaults suit a council's volumes."""

    send_interval: int = 30
    max_backoff: int = 300


@dataclass(frozen=True)
class Settings:
    path: Path
    database_url: str
    smtp: SmtpSettings
    mailboxes: tuple[MailboxSettings, ...]
    rules_dir: Path
    templates_dir: Path
    daemon: DaemonSettings = DaemonSettings()
    # The authserv-id of the site's inbound mail server: officers' commands then need its
    # Authentication-Results to show DMARC (or SPF and DKIM) pass for their domain.
    trusted_authserv_id: str | None = None

    def mailbox(self, name: str) -> MailboxSettings:
        for box in self.mailboxes:
            if box.name == name:
                return box
        known = ", ".join(b.name for b in self.mailboxes) or "none"
        raise ConfigError(f"{self.path}: no [[mailboxes]] entry named {name!r} (known: {known})")

    def mailbox_for_role(self, role: str) -> MailboxSettings:
        """The first mailbox of a role: where replies about a case come back to."""
        for box in self.mailboxes:
            if box.role == role:
                return box
        return self.mailbox_for_role("feedback") if role != "feedback" else self.mailboxes[0]

    @property
    def mail_domain(self) -> str:
        return self.smtp.sender.rpartition("@")[2]


def secret(env_name: str | None, key: str, path: Path) -> str | None:
    """The password a `*_env` key points at; a named but unset variable is an error."""
    if env_name is None:
        return None
    value = os.environ.get(env_name)
    if value is None:
        raise ConfigError(f"{path}: {key} names environment variable {env_name}, which is not set")
    return value


def _resolve_db_url(url: str, base: Path) -> str:
    """SQLite paths in the config are relative to the config file, not to the shell's cwd."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != "sqlite:///:memory:":
        target = Path(url[len(prefix):])
        if not target.is_absolute():
            return prefix + str((base / target).resolve())
    return url


# Relays limit connections per client (Exchange Online allows three for SMTP AUTH).
MAX_CONNECTIONS = 10


def _smtp(table: Table) -> SmtpSettings:
    security = table.string("security", "starttls", choices=SECURITY)
    default_port = {"none": 25, "starttls": 587, "tls": 465}[security]
    smtp = SmtpSettings(
        host=table.string("host"),
        port=table.integer("port", default_port, minimum=1),
        security=security,
        username=table.string("username", None),
        password_env=table.string("password_env", None),
        sender=table.email("from"),
        timeout=table.integer("timeout", 60, minimum=1),
        connections=table.integer("connections", 3, minimum=1, maximum=MAX_CONNECTIONS),
    )
    table.finish()
    return smtp


def _mailbox(table: Table) -> MailboxSettings:
    security = table.string("security", "tls", choices=SECURITY)
    name = table.string("name")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
        table.fail("name", "use up to 64 letters, digits, - or _")
    box = MailboxSettings(
        name=name,
        role=table.string("role", choices=ROLES),
        address=table.email("address"),
        host=table.string("host"),
        port=table.integer("port", 993 if security == "tls" else 143, minimum=1),
        security=security,
        username=table.string("username", None),
        password_env=table.string("password_env", None),
        folder=table.string("folder", "INBOX"),
        processed_folder=table.string("processed_folder", "Processed"),
        quarantine_folder=table.string("quarantine_folder", "Quarantine"),
        idle=table.boolean("idle", True),
        poll_interval=table.integer("poll_interval", 60, minimum=1),
    )
    if len({box.folder, box.processed_folder, box.quarantine_folder}) < 3:
        table.fail("processed_folder", "folder, processed_folder and quarantine_folder "
                                       "must be three different folders")
    table.finish()
    return box


def load_settings(path: Path) -> Settings:
    file = TomlFile(path)
    root = file.root
    base = path.resolve().parent
    database = root.table("database")
    url = _resolve_db_url(database.string("url"), base)
    database.finish()
    smtp = _smtp(root.table("smtp"))
    boxes = tuple(_mailbox(t) for t in root.tables("mailboxes"))
    if not boxes:
        root.fail("mailboxes", "at least one [[mailboxes]] entry is required")
    names = [b.name for b in boxes]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        root.fail("mailboxes", f"two mailboxes are named {duplicate!r}")
    paths = root.table("paths", None)
    rules_dir, templates_dir = base / "rules", PACKAGED_TEMPLATES
    if paths is not None:
        rules_dir = base / paths.string("rules", "rules")
        templates = paths.string("templates", None)
        templates_dir = base / templates if templates else PACKAGED_TEMPLATES
        if not templates_dir.is_dir():
            paths.fail("templates", f"{templates_dir} is not a folder")
        paths.finish()
    daemon = DaemonSettings()
    table = root.table("daemon", None)
    if table is not None:
        daemon = DaemonSettings(send_interval=table.integer("send_interval", 30, minimum=1),
                                max_backoff=table.integer("max_backoff", 300, minimum=1))
        table.finish()
    security = root.table("security", None)
    authserv_id = None
    if security is not None:
        authserv_id = security.string("trusted_authserv_id", None)
        security.finish()
    root.finish()
    return Settings(path, url, smtp, boxes, rules_dir, templates_dir, daemon, authserv_id)
