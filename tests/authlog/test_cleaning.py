"""Attacker-supplied text made safe for a row, a log line and a CSV cell (SECURITY-CASES 4, 7, 8, 42, 43, 47)."""

import pytest

from authlog.cleaning import clean_text, escape_text, has_unsafe_characters

UNSAFE = [
    pytest.param("\r", id="CR"),
    pytest.param("\n", id="LF"),
    pytest.param("\x00", id="NUL"),
    pytest.param("\x1b", id="ESC"),
    pytest.param("\x7f", id="DEL"),
    pytest.param("\x9b", id="C1-CSI"),
    pytest.param("\x0b", id="VT"),
    pytest.param("\x0c", id="FF"),
    pytest.param("\x1c", id="FS"),
    pytest.param("\x1d", id="GS"),
    pytest.param("\x1e", id="RS"),
    pytest.param("\x85", id="NEL"),
    pytest.param("\u2028", id="LINE-SEPARATOR"),
    pytest.param("\u2029", id="PARAGRAPH-SEPARATOR"),
    pytest.param("\u202e", id="RIGHT-TO-LEFT-OVERRIDE"),
    pytest.param("\u2066", id="LEFT-TO-RIGHT-ISOLATE"),
    pytest.param("\u061c", id="ARABIC-LETTER-MARK"),
    pytest.param("\u200b", id="ZERO-WIDTH-SPACE"),
    pytest.param("\u200c", id="ZERO-WIDTH-NON-JOINER"),
    pytest.param("\u200d", id="ZERO-WIDTH-JOINER"),
    pytest.param("\u2060", id="WORD-JOINER"),
    pytest.param("\ufeff", id="BOM"),
    pytest.param("\U000e0041", id="TAG-LATIN-A"),
    pytest.param("\ud800", id="LONE-HIGH-SURROGATE"),
    pytest.param("\udfff", id="LONE-LOW-SURROGATE"),
]


@pytest.mark.parametrize("char", UNSAFE)
def test_unsafe_characters_are_removed(char):
    assert clean_text(f"ab{char}cd", max_length=50) == "abcd"


@pytest.mark.parametrize("char", UNSAFE)
def test_unsafe_characters_are_detected(char):
    assert has_unsafe_characters(f"ab{char}cd")


def test_a_terminal_escape_sequence_loses_its_escape():
    assert clean_text("Mozilla\x1b[2J\x1b]0;owned\x07", max_length=50) == "Mozilla[2J]0;owned"


def test_a_forged_log_record_stays_on_one_line():
    forged = "bob\r\n2025-01-01T00:00:00Z INFO login success user=admin"
    cleaned = clean_text(forged, max_length=200)
    assert cleaned.splitlines() == [cleaned]


def test_text_with_every_line_breaker_splits_into_one_line():
    text = "a\r\nb\x0bc\x0cd\x1ce\x1df\x1eg\x85h\u2028i\u2029j"
    assert clean_text(text, max_length=50).splitlines() == ["abcdefghij"]


def test_cleaned_text_encodes_as_utf8():
    cleaned = clean_text("a\ud800b\udc00c", max_length=50)
    assert cleaned.encode("utf-8") == b"abc"


@pytest.mark.parametrize(
    "text",
    ["alice", "Mozilla/5.0 (X11; Linux x86_64)", "é ü ß 漢字 😀", "a\u00a0b", "e\u0301"],
)
def test_ordinary_text_is_kept(text):
    assert clean_text(text, max_length=100) == text


@pytest.mark.parametrize("text", ["alice", "é ü ß 漢字 😀", "Mozilla/5.0 (X11)"])
def test_ordinary_text_has_no_unsafe_characters(text):
    assert not has_unsafe_characters(text)


def test_outer_white_space_is_stripped():
    assert clean_text(" \t alice \t ", max_length=50) == "alice"


def test_a_megabyte_is_cut_to_the_maximum_length():
    assert clean_text("x" * 1_000_000, max_length=512) == "x" * 512


def test_a_megabyte_of_nul_is_none():
    assert clean_text("\x00" * 1_000_000, max_length=512) is None


def test_no_white_space_is_left_at_the_cut():
    assert clean_text("ab  cd", max_length=3) == "ab"


def test_the_cut_counts_characters_not_bytes():
    assert clean_text("é" * 10, max_length=4) == "éééé"


@pytest.mark.parametrize("text", ["", "   ", "\x00\r\n", "\u200b"])
def test_nothing_left_is_none(text):
    assert clean_text(text, max_length=50) is None


def test_none_stays_none():
    assert clean_text(None, max_length=50) is None


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("a\x1b[2Jb", "a\\x1b[2Jb"),
        ("a\r\nb", "a\\x0d\\x0ab"),
        ("a\u2028b", "a\\u2028b"),
        ("admin\u202etxt.exe", "admin\\u202etxt.exe"),
        ("a\ud800b", "a\\ud800b"),
        ("é 漢字", "é 漢字"),
    ],
)
def test_escape_text_shows_unsafe_characters_as_escapes(text, escaped):
    assert escape_text(text) == escaped
