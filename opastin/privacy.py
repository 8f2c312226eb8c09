"""Masking Finnish personal identity codes (henkilötunnus) in free text.

People type identity codes in many ways: ``131052-308T``, ``131052308T``,
``131052 308T``, with an en dash from a phone's autocorrect, with the century
letters of 2023 (``B``–``F``, ``U``–``Y``), in lower case, or glued to the
words around them (``hetu:131052-308T.``). Every candidate is validated with
``stdnum.fi.hetu`` (temporary individual numbers 900–999 included), so dates,
reference numbers and codes with a wrong check character are left alone.

A candidate written without a century sign (none, a space or a dash-like
character) is valid when it is valid for the 1900s or the 2000s: the check
character does not depend on the century.
"""

from __future__ import annotations

import re

from stdnum.fi import hetu

HETU_MASK = "******-****"

# Hyphen, non-breaking hyphen, figure dash, en dash, em dash, minus sign.
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2212"
_CANDIDATE = re.compile(
    r"(?<!\d)(?P<date>\d{6})"
    rf"(?P<sign>[ \t]*[-{_DASHES}][ \t]*|[+A-FU-Y]| ?)"
    r"(?P<individual>\d{3})(?P<check>[0-9A-Y])(?!\d)",
    re.IGNORECASE,
)
_IMPLIED_SIGNS = ("-", "A")


def _is_code(date: str, sign: str, individual: str, check: str) -> bool:
    sign = sign.strip().upper()
    signs = (sign,) if sign in {"+", *"ABCDEFUVWXY"} else _IMPLIED_SIGNS
    return any(
        hetu.is_valid(f"{date}{candidate}{individual}{check.upper()}", allow_temporary=True)
        for candidate in signs
    )


def _mask_match(match: re.Match[str]) -> str:
    if _is_code(match["date"], match["sign"], match["individual"], match["check"]):
        return HETU_MASK
    return match.group(0)


def mask_hetu(text: str) -> str:
    """Return ``text`` with every valid personal identity code replaced by :data:`HETU_MASK`."""
    return _CANDIDATE.sub(_mask_match, text)


def mask_optional(text: str | None) -> str | None:
    """:func:`mask_hetu` for optional text; ``None`` stays ``None``."""
    return None if text is None else mask_hetu(text)


def contains_hetu(text: str) -> bool:
    """Whether ``text`` contains a valid personal identity code in any of the forms above."""
    return mask_hetu(text) != text
