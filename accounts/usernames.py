"""Normalise usernames so that one person cannot be two accounts (or two throttle keys).

Pure: no database, no settings. `ａｌｉｃｅ`, `Alice`, ` alice ` and `alice\t`
are one name; so are `é` written precomposed or as `e` + combining accent,
and the KELVIN SIGN and `k`. The form is NFKC, then Python's full casefold
(`straße` and `STRASSE` match, which SQL's lower() does not do), then NFKC
again because casefolding can produce a non-NFKC sequence.
"""

import re
import unicodedata

# Django's UnicodeUsernameValidator: letters, digits and @ . + - _ only.
_ALLOWED = re.compile(r"^[\w.@+-]+\Z")


def display_username(raw: str) -> str:
    """Return the name as it will be shown: NFKC form, outer white space removed."""
    return unicodedata.normalize("NFKC", raw).strip()


def normalise_username(raw: str) -> str:
    """Return the key used for lookup, uniqueness and throttling.

    Callers check the raw length first: NFKC's cost grows with its input.
    """
    folded = unicodedata.normalize("NFKC", raw).strip().casefold()
    return unicodedata.normalize("NFKC", folded)


def username_problem(raw: str, *, max_length: int, input_max_length: int) -> str | None:
    """Return why `raw` cannot be registered as a username, or None if it can."""
    if len(raw) > input_max_length:
        return f"Use at most {max_length} characters."
    name = display_username(raw)
    if not name:
        return "Enter a username."
    if len(name) > max_length:
        return f"Use at most {max_length} characters."
    if not _ALLOWED.match(name):
        return "Use only letters, digits and the characters @ . + - _"
    return None
