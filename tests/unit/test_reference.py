"""References are short, typable, random; tokens are lower-case secrets."""

import secrets

from mailbot.domain.reference import ALPHABET, find_references, make_reference, make_token


def test_shape() -> None:
    ref = make_reference("CF", 2026, bytes([0, 1, 2, 29]))
    assert ref == "CF-26-" + ALPHABET[0] + ALPHABET[1] + ALPHABET[2] + ALPHABET[29]


def test_no_look_alike_characters() -> None:
    for ch in "01OILU":
        assert ch not in ALPHABET


def test_random_references_rarely_repeat() -> None:
    refs = {make_reference("CF", 2026, secrets.token_bytes(8)) for _ in range(2000)}
    assert len(refs) > 1990


def test_token_is_subaddress_safe() -> None:
    token = make_token(secrets.token_bytes(32))
    assert len(token) == 20 and token.isalnum() and token == token.lower()


def test_found_as_people_type_them() -> None:
    text = "Re: my complaint cf-26-4k7q and also CF 26 ZZ9A, not CF-26-4K7QX or XCF-26-4K7Q"
    assert find_references(text, "CF") == ("CF-26-4K7Q", "CF-26-ZZ9A")


def test_letters_outside_the_alphabet_are_not_references() -> None:
    assert find_references("CF-26-0O1I", "CF") == ()
