"""Guardianship relations from the population register, behind one interface.

An identified guardian may act for a child in a chat (docs/identification.md,
"Acting for a child"). Who is whose child comes from the population register
(Väestötietojärjestelmä, DVV) through :class:`GuardianshipRegister`;
:class:`FileRegister` serves development and tests from a YAML file of the
test persons (``idp/population_register.yml``). A county connects the real
register by adding a class with the same method (the document says how).

Children under :data:`MATURITY_AGE` may be acted for directly; for a child of
that age or older the professional assesses the child's maturity first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

import yaml

from handoff.identification.identity import IdentificationFailed, normalise_identity_code

MATURITY_AGE = 12
_CENTURIES = {"+": 1800, **dict.fromkeys("-YXWVU", 1900), **dict.fromkeys("ABCDEF", 2000)}


class RegisterError(ValueError):
    """The register file cannot be read or is not valid."""


def birth_date(identity_code: str) -> date:
    """The birth date written in a valid Finnish identity code."""
    day, month, year = int(identity_code[0:2]), int(identity_code[2:4]), int(identity_code[4:6])
    return date(_CENTURIES[identity_code[6].upper()] + year, month, day)


def age_on(born: date, today: date) -> int:
    """Full years from ``born`` to ``today``."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@dataclass(frozen=True)
class Child:
    """A child in the guardian's care, as the register gives it. ``repr`` leaves the code out."""

    identity_code: str
    given_name: str
    family_name: str

    def __repr__(self) -> str:
        return f"Child({self.given_name!r})"

    @property
    def display_name(self) -> str:
        """``Etunimi Sukunimi``."""
        return f"{self.given_name} {self.family_name}"

    def age(self, today: date) -> int:
        """The child's age in full years on ``today``."""
        return age_on(birth_date(self.identity_code), today)


class GuardianshipRegister(Protocol):
    """Where guardianship relations come from."""

    test: bool  # a register of made-up test persons (refused in production)

    def children_of(self, guardian_code: str) -> tuple[Child, ...]:
        """The children of the guardian ``guardian_code`` (none for anyone else)."""
        ...


class FileRegister:
    """Guardianship relations read from a YAML file (``guardians: {code: [child, …]}``)."""

    def __init__(self, path: Path) -> None:
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            self.test = bool(document.get("test", False))
            self._children = {
                normalise_identity_code(guardian): tuple(_child(entry) for entry in children or ())
                for guardian, children in (document.get("guardians") or {}).items()
            }
        except (OSError, yaml.YAMLError, AttributeError, TypeError, KeyError) as error:
            raise RegisterError(f"{path}: {error}") from None
        except IdentificationFailed as error:
            raise RegisterError(f"{path}: {error}") from None

    def __repr__(self) -> str:
        return f"FileRegister({len(self._children)} guardians, test={self.test})"

    def children_of(self, guardian_code: str) -> tuple[Child, ...]:
        """The children of ``guardian_code`` in the file."""
        return self._children.get(guardian_code, ())


def _child(entry: dict[str, str]) -> Child:
    return Child(
        normalise_identity_code(entry["identity_code"]), str(entry["given_name"]), str(entry["family_name"])
    )
