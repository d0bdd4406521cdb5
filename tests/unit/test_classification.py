"""Classification accuracy on labelled real-looking mail, and the reasons it gives."""

import sys
from pathlib import Path

import pytest

from mailbot.domain.classify import classify_kind, is_mp_sender
from mailbot.domain.model import Kind
from mailbot.domain.route import route_service
from mailbot.domain.rules import Rules
from tests.conftest import FIXTURES

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from classify_accuracy import evaluate, summary


@pytest.mark.parametrize("folder", ["classify", "classify_holdout"])
def test_accuracy_targets(folder: str, rules: Rules) -> None:
    outcomes = evaluate(FIXTURES / folder, rules)
    assert len(outcomes) >= 25
    kind, service, wrong_service, _ = summary(outcomes)
    assert kind >= 0.90
    assert service >= 0.80
    assert wrong_service <= len(outcomes) * 0.05


def test_labelled_set_is_large_enough() -> None:
    assert len(list((FIXTURES / "classify").glob("*.eml"))) >= 50


def test_first_missed_bin_is_a_request_but_the_fourth_is_a_complaint(rules: Rules) -> None:
    first = "Recycling bin not emptied\nOur bin wasn't emptied today, could you please collect it?"
    fourth = ("Missed bin AGAIN\nFourth time this month nobody came to empty our bin. "
              "Please sort it out.")
    assert classify_kind(first, "a@example.com", rules.kinds).value == Kind.SERVICE_REQUEST
    assert classify_kind(fourth, "a@example.com", rules.kinds).value == Kind.COMPLAINT


def test_tenant_damp_and_homelessness_go_to_different_services(rules: Rules) -> None:
    damp = "I am a council tenant and the damp and mould in my flat is back"
    homeless = "My homelessness application has had no decision and I am in temporary accommodation"
    assert route_service(damp, rules).value == "housing_repairs"
    assert route_service(homeless, rules).value == "housing_solutions"


def test_unsure_routing_goes_to_triage_with_reasons(rules: Rules) -> None:
    verdict = route_service("I want to complain about the way I was treated.", rules)
    assert verdict.value is None
    assert "triage" in verdict.reasons[0]


def test_several_services_go_to_triage(rules: Rules) -> None:
    text = ("Our recycling bin was not collected, the pothole outside is still there and my "
            "council tax bill is wrong.")
    verdict = route_service(text, rules)
    assert verdict.value is None
    assert "spans" in verdict.reasons[0]


def test_acronyms_match_only_in_capitals(rules: Rules) -> None:
    assert route_service("please send someone to look at the pothole on my road", rules).value \
        == "highways"


def test_mp_domains() -> None:
    assert is_mp_sender("jo.example.mp@parliament.uk", ("parliament.uk",))
    assert is_mp_sender("caseworker@commons.parliament.uk", ("parliament.uk",))
    assert not is_mp_sender("someone@notparliament.uk", ("parliament.uk",))


def test_no_signal_defaults_to_complaint_and_says_so(rules: Rules) -> None:
    verdict = classify_kind("Hello\nRing me.", "a@example.com", rules.kinds)
    assert verdict.value == Kind.COMPLAINT
    assert "default complaint" in verdict.reasons[0]
