"""Commands are trusted only on the site's own server's authentication verdict."""

from mailbot.domain.authentication import sender_authenticated

OFFICER = "repairs.spoc@stoke-example.gov.uk"
MX = "mx.stoke-example.gov.uk"


def test_dmarc_pass_from_our_server() -> None:
    header = (f"{MX}; dkim=pass header.d=stoke-example.gov.uk; "
              "dmarc=pass header.from=stoke-example.gov.uk")
    assert sender_authenticated((header,), MX, OFFICER).value == "pass"


def test_spf_and_dkim_pass() -> None:
    header = (f"{MX}; spf=pass smtp.mailfrom=bounces@stoke-example.gov.uk; "
              "dkim=pass header.d=stoke-example.gov.uk")
    assert sender_authenticated((header,), MX, OFFICER).value == "pass"


def test_forged_header_from_another_server_is_ignored() -> None:
    forged = "evil.example; dmarc=pass header.from=stoke-example.gov.uk"
    ours = f"{MX}; dmarc=fail header.from=stoke-example.gov.uk"
    assert sender_authenticated((forged, ours), MX, OFFICER).value is None
    assert sender_authenticated((forged,), MX, OFFICER).value is None


def test_pass_for_another_domain_does_not_count() -> None:
    header = f"{MX}; dmarc=pass header.from=attacker.example"
    assert sender_authenticated((header,), MX, OFFICER).value is None


def test_unchecked_when_not_configured() -> None:
    assert sender_authenticated((), None, OFFICER).value == "unchecked"


def test_look_alike_domains_do_not_pass() -> None:
    header = (f"{MX}; spf=pass smtp.mailfrom=attacker.com; "
              "dkim=pass header.d=stoke-example.gov.uk.attacker.com; dmarc=fail")
    assert sender_authenticated((header,), MX, OFFICER).value is None
    header = f"{MX}; spf=pass smtp.mailfrom=attacker.com; dkim=pass header.d=attacker.com"
    assert sender_authenticated((header,), MX, OFFICER).value is None
