"""Masking Finnish personal identity codes (henkilötunnus) in free text.

Candidates are found case-insensitively with a regular expression and each is
validated with ``stdnum.fi.hetu`` (2023 century signs and temporary individual
numbers 900–999 included), so dates, phone numbers and codes with a wrong
check character are left alone.
"""

from __future__ import annotations

import re

from stdnum.fi import hetu

HETU_MASK = "******-****"

_CANDIDATE = re.compile(
    r"(?<![0-9A-Za-z])\d{6}[-+A-FU-Y]\d{3}[0-9A-Y](?![0-9A-Za-z])",
    re.IGNORECASE,
)


def _mask_match(match: re.Match[str]) -> str:
    candidate = match.group(0)
    if hetu.is_valid(candidate.upper(), allow_temporary=True):
        return HETU_MASK
    return candidate


def mask_hetu(text: str) -> str:
    """Return ``text`` with every valid personal identity code replaced by :data:`HETU_MASK`."""
    return _CANDIDATE.sub(_mask_match, text)


def mask_optional(text: str | None) -> str | None:
    """:func:`mask_hetu` for optional text; ``None`` stays ``None``."""
    return None if text is None else mask_hetu(text)
