"""One person, one account, one throttle key: username normalisation (SECURITY-CASES 5, 10-12)."""

import unicodedata
from types import SimpleNamespace

import pytest

from accounts.usernames import display_username, normalise_username, username_problem

MAX_LENGTH = 150
INPUT_MAX_LENGTH = 256


def problem(raw: str) -> str | None:
    return username_problem(raw, max_length=MAX_LENGTH, input_max_length=INPUT_MAX_LENGTH)


@pytest.mark.parametrize(
    "variant",
    [
        "alice",
        " alice",
        "alice ",
        "alice\t",
        "\talice\n",
        "\u3000alice\u00a0",
        "ALICE",
        "Alice",
        "ａｌｉｃｅ",
        "ＡＬＩＣＥ",
    ],
)
def test_white_space_case_and_width_variants_are_one_name(variant):
    assert normalise_username(variant) == "alice"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("e\u0301", "\u00e9"),  # combining accent vs precomposed
        ("Jos\u0065\u0301", "jos\u00e9"),
        ("\u212a", "k"),  # KELVIN SIGN
        ("\u212b", "\u00e5"),  # ANGSTROM SIGN
        ("\u2126", "\u03c9"),  # OHM SIGN
        ("straße", "STRASSE"),
        ("straße", "strasse"),
        ("\u1e9e", "ss"),  # capital sharp s
        ("\ufb01", "fi"),  # ligature
        ("\u03c2", "\u03a3"),  # final sigma vs capital sigma
    ],
)
def test_unicode_variants_are_one_name(first, second):
    assert normalise_username(first) == normalise_username(second)


def test_dotted_capital_i_is_not_plain_i():
    # Decided: alİce is another name than alice (casefold gives i + COMBINING DOT ABOVE).
    assert normalise_username("alİce") != normalise_username("alice")


@pytest.mark.parametrize("variant", ["alİce", "ALİCE", "ali\u0307ce"])
def test_dotted_capital_i_variants_are_one_name(variant):
    assert normalise_username(variant) == "ali\u0307ce"


def test_dotted_capital_i_may_be_registered():
    assert problem("alİce") is None


def test_i_with_a_combining_dot_may_not_be_registered():
    # So alİce cannot be registered twice by typing the dot separately.
    assert problem("ali\u0307ce") is not None


def test_dotless_i_is_its_own_name():
    assert normalise_username("alıce") not in {normalise_username("alice"), "ali\u0307ce"}


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (" alice\t", "alice"),
        ("ａｌｉｃｅ", "alice"),
        ("ALICE", "ALICE"),
        ("e\u0301", "\u00e9"),
        ("\u212a", "K"),
        ("straße", "straße"),
    ],
)
def test_display_name_keeps_case_but_not_width_or_outer_space(raw, shown):
    assert display_username(raw) == shown


@pytest.mark.parametrize(
    "raw", ["ALİCE", "ΣΊΣΥΦΟΣ", "ǅemal", "ﬃ", "ᾈ", "Ⅸ", "straẞe", "\u212aelvin", "ａｌｉｃｅ"]
)
def test_normalising_is_idempotent(raw):
    assert normalise_username(normalise_username(raw)) == normalise_username(raw)


@pytest.mark.parametrize("raw", ["ALİCE", "ǅemal", "\u212aelvin", " ａｌｉｃｅ\t", "straße"])
def test_the_display_name_normalises_to_the_same_key(raw):
    # Registration stores the display name; sign-in normalises what is typed.
    assert normalise_username(display_username(raw)) == normalise_username(raw)


@pytest.mark.parametrize("raw", ["ALİCE", "ǅemal", "STRASSE", "\u212aelvin"])
def test_the_key_is_nfkc(raw):
    key = normalise_username(raw)
    assert unicodedata.normalize("NFKC", key) == key


@pytest.mark.parametrize(
    "raw",
    ["alice", "Alice_01", "a.b-c+d@example.com", "é", "jürgen", "漢字", "ａｌｉｃｅ", " bob "],
)
def test_ordinary_names_have_no_problem(raw):
    assert problem(raw) is None


@pytest.mark.parametrize("raw", ["", " ", "\t\n", "\u3000"])
def test_empty_names_are_refused(raw):
    assert problem(raw) == "Enter a username."


@pytest.mark.parametrize(
    "raw",
    [
        "al ice",
        "alice\u200b",
        "ali\x00ce",
        "ali\nce",
        "admin\u202etxt",
        "admin'--",
        "' OR '1'='1'--",
        "a:b",
        "a/b",
        "a%b",
        "<script>",
        "e\u0301\u0301",
    ],
)
def test_names_outside_the_charset_are_refused(raw):
    assert problem(raw) == "Use only letters, digits and the characters @ . + - _"


def test_a_name_of_the_maximum_length_is_accepted():
    assert problem("a" * MAX_LENGTH) is None


@pytest.mark.parametrize("length", [MAX_LENGTH + 1, INPUT_MAX_LENGTH, INPUT_MAX_LENGTH + 1, 10**4])
def test_too_long_names_are_refused(length):
    assert problem("a" * length) == f"Use at most {MAX_LENGTH} characters."


def test_a_name_that_nfkc_makes_too_long_is_refused():
    # U+FDFA is one character that NFKC expands to eighteen.
    assert problem("\ufdfa" * 10) == f"Use at most {MAX_LENGTH} characters."


def test_a_million_characters_are_refused_without_normalising(monkeypatch):
    # CVE-2023-46695: NFKC's cost grows with its input, so the raw length is checked first.
    def no_normalising(form, text):
        raise AssertionError("normalised a name that is too long")

    monkeypatch.setattr("accounts.usernames.unicodedata", SimpleNamespace(normalize=no_normalising))
    assert problem("\ufdfa" * 10**6) == f"Use at most {MAX_LENGTH} characters."
