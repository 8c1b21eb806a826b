"""Make attacker-supplied text safe to store in a row, a log line or a CSV cell.

Pure: no database, no settings. Known limit: look-alike characters (Cyrillic
"а" for Latin "a", RTL overrides are removed but homoglyphs are not) are kept;
screens must group by user id, not by the displayed name.
"""

import unicodedata

# Characters that end a line for str.splitlines() or a terminal, beyond \r and
# \n: a log viewer or CSV reader could be tricked into a forged new record.
_LINE_BREAKERS = frozenset("\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def _is_unsafe(char: str) -> bool:
    if char in _LINE_BREAKERS:
        return True
    # Cc: C0/C1 controls (NUL, ESC, CR, LF...); Cf: bidi overrides and
    # zero-width characters that make a name display as another; Cs: lone
    # surrogates that no database driver can encode.
    return unicodedata.category(char) in {"Cc", "Cf", "Cs"}


def clean_text(value: str | None, *, max_length: int) -> str | None:
    """Return `value` without control, format or surrogate characters, cut to `max_length`.

    The input is cut before cleaning (to at most four times the limit), so a
    megabyte of input costs no more than a short one.
    """
    if value is None:
        return None
    head = value[: max_length * 4]
    # isprintable() is False for every character we remove (and for a few
    # harmless ones), so printable text, the usual case, skips the scan.
    cleaned = head if head.isprintable() else "".join(c for c in head if not _is_unsafe(c))
    cleaned = cleaned.strip()
    # Strip again after the cut, which can leave white space at the end.
    return cleaned[:max_length].rstrip() or None


def has_unsafe_characters(value: str) -> bool:
    """Return whether `value` holds any character that `clean_text` would remove."""
    return not value.isprintable() and any(_is_unsafe(char) for char in value)


def escape_text(value: str) -> str:
    """Return `value` with each character that `clean_text` would remove written as an escape."""
    return "".join(_escaped(char) if _is_unsafe(char) else char for char in value)


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
