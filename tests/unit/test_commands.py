"""Officers' #commands parse into typed values; mistakes are explained."""

import pytest

from mailbot.domain.commands import CommandError, parse_commands
from mailbot.domain.model import Address, Kind


def test_commands_then_body() -> None:
    parsed = parse_commands("#Respond outcome=Upheld\n#natures delay, failure\n\n"
                            "Dear Ms Jones,\nWe are sorry.\n#not a command")
    assert [c.name for c in parsed.commands] == ["respond", "natures"]
    assert parsed.commands[0].outcome == "upheld"
    assert parsed.commands[1].natures == ("delay", "failure")
    assert parsed.body == "Dear Ms Jones,\nWe are sorry.\n#not a command"


def test_extend_with_force() -> None:
    (command,) = parse_commands("#extend 5 FORCE roofer delayed").commands
    assert (command.days, command.force, command.text) == (5, True, "roofer delayed")


def test_no_commands() -> None:
    parsed = parse_commands("Surveyor booked.\n#respond outcome=upheld")
    assert parsed.commands == () and parsed.body.startswith("Surveyor")


@pytest.mark.parametrize(("text", "message"), [
    ("#respond", "needs outcome="),
    ("#respond outcome=great", "needs outcome="),
    ("#extend soon", "needs <working days>"),
    ("#extend 5", "needs <working days>"),
    ("#reclassify moan", "#reclassify needs one of"),
    ("#natures cheese", "#natures takes"),
    ("#frobnicate", "unknown command #frobnicate"),
    ("#close now please", "takes nothing"),
    ("#reassign", "needs a service"),
    ("#constituent Jane Smith", "needs the constituent's email"),
    ("#constituent jane@localhost", "needs the constituent's email"),
    ("#constituent jané@example.org", "needs the constituent's email"),
])
def test_mistakes_are_explained(text: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        parse_commands(text)


def test_reclassify() -> None:
    assert parse_commands("#reclassify comment").commands[0].kind is Kind.COMMENT


def test_constituent() -> None:
    (command,) = parse_commands("#constituent Jane Smith <jane@example.org>").commands
    assert command.address == Address("Jane Smith", "jane@example.org")
    assert parse_commands("#constituent jane@example.org").commands[0].address == Address(
        "", "jane@example.org")
