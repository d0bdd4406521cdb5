"""`mailbot init DIR`: a working site from nothing, pointing at localhost until edited."""

from __future__ import annotations

import shutil
from pathlib import Path

DEFAULT_RULES = Path(__file__).parent / "defaults" / "rules"

CONFIG = """\
# mailbot site configuration. Paths are relative to this file.
# Secrets are never written here: *_env keys name the environment variable that holds them.

[database]
# SQLite (WAL mode) in this folder. For PostgreSQL:
#   url = "postgresql+psycopg://mailbot@dbhost/mailbot"
url = "sqlite:///mailbot.db"

[smtp]
host = "localhost"
port = 25
security = "none"            # "none" | "starttls" | "tls"
# username = "mailbot"
# password_env = "MAILBOT_SMTP_PASSWORD"
from = "feedback@stoke-example.gov.uk"
# connections = 3            # to the relay at once while the outbox drains (1 to 10)

# One [[mailboxes]] table per polled mailbox. Residents write to the feedback mailbox;
# officers' replies to routed cases come back to the spoc (casework) mailbox.
[[mailboxes]]
name = "feedback"
role = "feedback"
address = "feedback@stoke-example.gov.uk"
host = "localhost"
port = 143
security = "none"            # "none" | "starttls" | "tls"
username = "feedback"
password_env = "MAILBOT_FEEDBACK_PASSWORD"
folder = "INBOX"

[[mailboxes]]
name = "spoc"
role = "spoc"
address = "casework@stoke-example.gov.uk"
host = "localhost"
port = 143
security = "none"
username = "casework"
password_env = "MAILBOT_SPOC_PASSWORD"
folder = "INBOX"

[paths]
rules = "rules"
# templates = "templates"    # your own templates here override the packaged ones by name
"""


class SiteExists(Exception):
    """Refuse to overwrite a site a council may already have edited."""


def init_site(directory: Path) -> list[Path]:
    config = directory / "mailbot.toml"
    rules = directory / "rules"
    if config.exists() or rules.exists():
        raise SiteExists(f"{directory} already holds a mailbot site; nothing was changed")
    directory.mkdir(parents=True, exist_ok=True)
    config.write_text(CONFIG, encoding="utf-8")
    shutil.copytree(DEFAULT_RULES, rules)
    return [config, *sorted(rules.iterdir())]
