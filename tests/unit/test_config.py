"""Bad configuration names the file, the key and the line; the CLI exits with code 2."""

import shutil
from pathlib import Path

import pytest

from mailbot.cli import main
from mailbot.rules_files import load_rules
from mailbot.settings import load_settings
from mailbot.site_init import DEFAULT_RULES, init_site
from mailbot.tomlcheck import ConfigError


@pytest.fixture
def config(tmp_path: Path) -> Path:
    init_site(tmp_path / "site")
    return tmp_path / "site" / "mailbot.toml"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_init_writes_a_valid_site(config: Path) -> None:
    settings = load_settings(config)
    assert [b.name for b in settings.mailboxes] == ["feedback", "spoc"]
    assert [b.role for b in settings.mailboxes] == ["feedback", "spoc"]
    assert settings.database_url == f"sqlite:///{config.parent.resolve() / 'mailbot.db'}"
    assert settings.rules_dir == config.parent / "rules"
    assert load_rules(settings.rules_dir).council.reference_prefix == "CF"


def test_init_refuses_to_overwrite(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(config.parent)]) == 1
    assert "already holds a mailbot site" in capsys.readouterr().err


@pytest.mark.parametrize(("old", "new", "message"), [
    ('security = "none"            # "none" | "starttls" | "tls"\n# username',
     'security = "ssl"\n# username', "smtp.security: expected one of none, starttls, tls"),
    ('port = 25', 'port = "twenty-five"', "smtp.port: expected an integer"),
    ('port = 25', 'port = 25\nconnections = 0', "smtp.connections: must be at least 1"),
    ('port = 25', 'port = 25\nconnections = 11', "smtp.connections: must be at most 10"),
    ('from = "feedback@stoke-example.gov.uk"', 'from = "feedback"',
     "smtp.from: expected an email address"),
    ('role = "spoc"', 'role = "officer"', "mailboxes.role: expected one of feedback, spoc"),
    ('[database]\n', '[database]\nurll = "x"\n', "database.urll: unknown key"),
    ('url = "sqlite:///mailbot.db"\n', '', "database.url: missing"),
    ('name = "spoc"', 'name = "feedback"', "two mailboxes are named 'feedback'"),
])
def test_bad_settings_name_key_file_and_line(config: Path, old: str, new: str,
                                             message: str) -> None:
    edit(config, old, new)
    with pytest.raises(ConfigError, match=message) as error:
        load_settings(config)
    assert str(error.value).startswith(str(config))


def test_line_number_is_given(config: Path) -> None:
    edit(config, "port = 25", 'port = "x"')
    line = next(n for n, text in enumerate(config.read_text().splitlines(), 1)
                if text.startswith("port = "))
    with pytest.raises(ConfigError, match=f"mailbot.toml:{line}: smtp.port"):
        load_settings(config)


def test_line_number_points_into_the_right_table(config: Path) -> None:
    edit(config, 'port = 143\nsecurity = "none"\nusername = "casework"',
         'port = "x"\nsecurity = "none"\nusername = "casework"')
    line = config.read_text().splitlines().index('port = "x"') + 1
    with pytest.raises(ConfigError, match=rf"mailbot\.toml:{line}: mailboxes\.port: expected"):
        load_settings(config)


def test_templates_folder_must_exist(config: Path) -> None:
    edit(config, '# templates = "templates"', 'templates = "tempaltes"')
    with pytest.raises(ConfigError, match=r"paths\.templates: .*tempaltes is not a folder"):
        load_settings(config)


def test_bad_database_url_is_a_config_error(config: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    edit(config, 'url = "sqlite:///mailbot.db"', 'url = "mysqlite://nowhere"')
    assert main(["--config", str(config), "cases"]) == 2
    assert "database.url: not a usable database URL" in capsys.readouterr().err


def test_template_syntax_error_stops_start_up(config: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    (config.parent / "templates").mkdir()
    (config.parent / "templates" / "acknowledgement.subject.j2").write_text("{{ oops")
    edit(config, '# templates = "templates"', 'templates = "templates"')
    assert main(["--config", str(config), "cases"]) == 2
    assert "acknowledgement.subject.j2:1:" in capsys.readouterr().err


def test_init_over_a_file_is_refused_cleanly(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "afile").write_text("x")
    assert main(["init", str(tmp_path / "afile")]) == 1
    err = capsys.readouterr().err
    assert "cannot create" in err and "Traceback" not in err


def test_not_toml(config: Path) -> None:
    config.write_text("[smtp\nhost=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(config)


def test_cli_exit_code_2_names_the_problem(config: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    edit(config, "port = 25", "port = -1")
    assert main(["--config", str(config), "cases"]) == 2
    err = capsys.readouterr().err
    assert "smtp.port: must be at least 1" in err and str(config) in err


def test_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(tmp_path / "nope.toml"), "cases"]) == 2
    assert "file not found" in capsys.readouterr().err


def test_bad_mailbot_now(config: Path, capsys: pytest.CaptureFixture[str],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILBOT_NOW", "next tuesday")
    assert main(["--config", str(config), "cases"]) == 2
    assert "MAILBOT_NOW" in capsys.readouterr().err


@pytest.mark.parametrize(("file", "old", "new", "message"), [
    ("services.toml", 'directorate = "adults"', 'directorate = "adult"',
     "services.adult_social_care.directorate: unknown directorate 'adult'"),
    ("services.toml", 'spoc = "waste.spoc@stoke-example.gov.uk"', 'spoc = "waste team"',
     "services.waste.spoc: expected an email address"),
    ("services.toml", '"bin" = 3', '"bin" = "lots"', 'services.waste.keywords.bin: expected'),
    ("procedures.toml", "respond_days = 10\n  extension_max_days = 10\n  [complaint.stages.2]",
     "respond_days = 0\n  extension_max_days = 10\n  [complaint.stages.2]",
     "complaint.stages.1.respond_days: must be at least 1"),
    ("procedures.toml", 'clock_starts = "acknowledgement"', 'clock_starts = "whenever"',
     "complaint.clock_starts: expected one of acknowledgement, receipt"),
    ("ombudsman.toml", 'phone = "0300 111 3000"\n', "", "housing.phone: missing"),
    ("classify.toml", 'default_kind = "complaint"', 'default_kind = "moan"',
     "kinds.default_kind: expected one of"),
    ("council.toml", '"2026-12-29"', '"2026-12-32"', "calendar.closures: '2026-12-32'"),
    ("council.toml", 'reference_prefix = "CF"', 'reference_prefix = "C-F"',
     "council.reference_prefix: expected 1 to 5 letters"),
    ("services.toml", '"bin" = 3', '"*" = 3',
     "services.waste.keywords.*: a phrase needs at least one letter or digit"),
    ("schedule.toml", 'to = ["director"]', 'to = ["mayor"]',
     "escalation.to: unknown recipient 'mayor'"),
    ("schedule.toml", 'at = "08:00"', 'at = "8 o\'clock"',
     "daily.at: expected a London time as HH:MM"),
    ("schedule.toml", 'at = "08:00"', 'at = "08:00:30"',
     "daily.at: expected a London time as HH:MM"),
    ("schedule.toml", "days_before = [3, 1]", "days_before = [3, 0]",
     "reminder.days_before: expected whole numbers from 1 to 30"),
    ("schedule.toml", 'weekday = "monday"', 'weekday = "mon"',
     "weekly_summary.weekday: expected one of monday"),
    ("schedule.toml", "repeat_every_days = 7", "repeat_every_days = 7\nrepeat = true",
     "overdue.repeat: unknown key"),
    ("council.toml", "copy_constituent = false", 'copy_constituent = "no"',
     "mp_enquiries.copy_constituent: expected true or false"),
])
def test_bad_rules_name_the_file_and_key(tmp_path: Path, file: str, old: str, new: str,
                                         message: str) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES, rules)
    edit(rules / file, old, new)
    with pytest.raises(ConfigError, match=message) as error:
        load_rules(rules)
    assert str(error.value).startswith(str(rules / file))


def test_missing_rules_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES, rules)
    (rules / "ombudsman.toml").unlink()
    with pytest.raises(ConfigError, match=r"ombudsman\.toml: file not found"):
        load_rules(rules)


def test_a_site_older_than_schedule_toml_uses_the_packaged_default(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES, rules)
    (rules / "schedule.toml").unlink()
    assert load_rules(rules).schedule.reminder_days == (3, 1)
