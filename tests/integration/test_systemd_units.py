"""The shipped systemd units pass `systemd-analyze verify` and keep their hardening.

verify checks that ExecStart's program exists, so the copies verified here point at this
environment's `mailbot` instead of /opt/mailbot/bin/mailbot; nothing else is changed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "systemd"
INSTALLED = "/opt/mailbot/bin/mailbot"


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is missing: scripts/test.sh installs Debian's systemd")
    here = str(Path(sys.executable).with_name("mailbot"))
    assert Path(here).exists(), here
    copies = []
    for unit in sorted(UNITS.iterdir()):
        copy = tmp_path / unit.name
        copy.write_text(unit.read_text().replace(INSTALLED, here))
        copies.append(str(copy))
    result = subprocess.run([analyze, "verify", *copies], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def directives(name: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in (UNITS / name).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


@pytest.mark.parametrize("name", ["mailbot.service", "mailbot-tick.service"])
def test_hardening(name: str) -> None:
    unit = directives(name)
    for key, value in {"User": "mailbot", "NoNewPrivileges": "yes",
                       "ProtectSystem": "strict", "PrivateTmp": "yes", "ProtectHome": "yes",
                       "CapabilityBoundingSet": "", "StateDirectory": "mailbot",
                       "EnvironmentFile": "/etc/mailbot/secrets.env"}.items():
        assert unit.get(key) == [value], key


def test_the_daemon_unit_is_notify_with_watchdog_reload_and_restart() -> None:
    unit = directives("mailbot.service")
    assert unit["Type"] == ["notify"] and unit["WatchdogSec"] == ["2min"]
    assert unit["ExecStart"] == [f"{INSTALLED} run"]
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert unit["Restart"] == ["on-failure"]
    assert directives("mailbot-tick.timer")["OnCalendar"] == ["*:0/5"]
