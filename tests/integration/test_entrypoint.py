"""The installed command itself, in a subprocess: no tracebacks, honest exit codes."""

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import MAIL


def mailbot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MAILBOT_NOW": "2026-11-23T10:00:00"}
    return subprocess.run([sys.executable, "-m", "mailbot", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_init_ingest_and_list(tmp_path: Path) -> None:
    assert mailbot("init", "mysite", cwd=tmp_path).returncode == 0
    config = str(tmp_path / "mysite" / "mailbot.toml")
    done = mailbot("--config", config, "ingest", "--mailbox", "feedback",
                   str(MAIL / "compliment_bin_crew.eml"), str(MAIL / "garbage_binary.eml"),
                   cwd=tmp_path)
    assert done.returncode == 1
    assert "new case CF-26-" in done.stdout and "quarantine item 1" in done.stderr
    assert "Traceback" not in done.stderr
    assert (tmp_path / "mysite" / "mailbot.db").exists()
    listing = mailbot("--config", config, "cases", cwd=tmp_path)
    assert listing.returncode == 0 and "compliment" in listing.stdout


def test_usage_error_is_exit_2(tmp_path: Path) -> None:
    done = mailbot("frobnicate", cwd=tmp_path)
    assert done.returncode == 2 and "invalid choice" in done.stderr
