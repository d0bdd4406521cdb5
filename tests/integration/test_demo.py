"""`mailbot demo`, as a newcomer runs it: from any folder, with no config and no secrets
in the environment, finished within a minute, every sent message kept as a .eml file."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path


def test_the_demo_plays_four_weeks_in_under_a_minute(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILBOT_")}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "mailbot", "demo"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert took < 60, f"the demo took {took:.0f} s"
    assert result.stderr == ""
    out = result.stdout
    folder = Path(re.search(r"is a \.eml file in (\S+)", out).group(1))  # type: ignore[union-attr]
    assert folder.is_dir() and not folder.is_relative_to(tmp_path)  # a temporary folder

    sent = sorted(folder.glob("*.eml"))
    accepted = int(re.search(r"(\d+) accepted by the SMTP sink", out).group(1))  # type: ignore[union-attr]
    assert len(sent) == accepted > 50
    for path in sent:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert message["Message-ID"] and message["Auto-Submitted"], path.name

    kinds = dict((k, int(n)) for n, k in re.findall(
        r"(\d+) (\w+)", out.split("Mail sent, by kind: ")[1].splitlines()[0]))
    assert kinds["acknowledgement"] == 7  # one per new case; none to the bounce or the OOO
    for kind in ("reminder", "overdue", "escalation", "holding_update", "response",
                 "extension_notice", "stage2_acknowledgement", "weekly_summary", "digest"):
        assert kinds.get(kind, 0) >= 1, kind
    assert "1 bounced" in out
    assert "the relay bounced the mail to c.harper@nowhere.example" in out
    assert "d.patel@example.org answered with an out-of-office reply: kept" in out
    assert "mp_enquiry" in out and "Housing Ombudsman" in out
    assert "The busiest weekly summary" in out and "Overdue cases" in out
    shutil.rmtree(folder.parent)
