"""The message catalogue: every text a resident or a professional reads outside the bot's answers.

One YAML file per language under ``data/messages/`` (``fi.yml``; a second
language is a second file with the same keys). Keys are nested in the file
and dotted in code (``gateway.too_long``). Values are texts with ``{name}``
placeholders, filled the same way everywhere:

* Python: :func:`text` (``text("gateway.too_long", limit=2000)``);
* templates: the ``t`` global (``{{ t("desk.login.title") }}``);
* page scripts: the messages the page needs, embedded as JSON by its template
  (:meth:`Catalogue.subset`) and filled by the same ``{name}`` rule.

The bot's own answers stay in ``domain.yml``, in Rasa's format.
``OPASTIN_LANGUAGE`` picks the language (default ``fi``).
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from opastin.content import ContentError, display_path, read_mapping
from opastin.places import DATA_DIR

MESSAGES_DIR = DATA_DIR / "messages"
DEFAULT_LANGUAGE = "fi"
_KEY = re.compile(r"^[a-z0-9_]+$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


class MessagesError(ContentError):
    """A message catalogue is missing, invalid, or disagrees with the default language's."""


def placeholders(template: str) -> set[str]:
    """The ``{name}`` placeholders of ``template``."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@dataclass(frozen=True)
class Catalogue:
    """One language's messages, by dotted key."""

    language: str
    messages: Mapping[str, str]

    def text(self, key: str, **values: Any) -> str:
        """The message ``key`` with its placeholders filled (``KeyError`` for an unknown key)."""
        template = self.messages[key]
        return template.format(**values) if values else template

    def get(self, key: str, default: str) -> str:
        """The message ``key`` as written, or ``default`` when there is none (for labels of codes)."""
        return self.messages.get(key, default)

    def subset(self, *prefixes: str) -> dict[str, str]:
        """The messages whose keys start with one of ``prefixes`` (for a page script)."""
        return {key: value for key, value in self.messages.items() if key.startswith(prefixes)}


def _flatten(node: Mapping[str, Any], shown: str, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for name, value in node.items():
        key = f"{prefix}{name}"
        if not isinstance(name, str) or not _KEY.match(name):
            raise MessagesError(f"{shown}: {key}: keys are lower-case a-z, 0-9 and _")
        if isinstance(value, Mapping):
            flat.update(_flatten(value, shown, f"{key}."))
        elif isinstance(value, str) and value.strip():
            try:
                placeholders(value)
            except ValueError as error:
                raise MessagesError(f"{shown}: {key}: {error} (write {{{{ for a brace)") from None
            flat[key] = value.strip()
        else:
            raise MessagesError(f"{shown}: {key}: expected a non-empty text or a group of messages")
    return flat


def load_catalogue(path: Path) -> Catalogue:
    """Read and validate one language's file (``<language>.yml``)."""
    language = path.stem
    if not _LANGUAGE.match(language):
        raise MessagesError(f"{display_path(path)}: name the file by its language code, e.g. fi.yml")
    return Catalogue(language, _flatten(read_mapping(path, MessagesError), display_path(path)))


@lru_cache(maxsize=8)
def catalogue(language: str | None = None, directory: Path = MESSAGES_DIR) -> Catalogue:
    """The catalogue of ``language`` (default: ``OPASTIN_LANGUAGE`` or ``fi``), loaded once."""
    chosen = language or os.environ.get("OPASTIN_LANGUAGE") or DEFAULT_LANGUAGE
    return load_catalogue(directory / f"{chosen}.yml")


def text(key: str, **values: Any) -> str:
    """The message ``key`` in the language in use, placeholders filled."""
    return catalogue().text(key, **values)


def _differences(reference: Catalogue, other: Catalogue, shown: str) -> Iterable[str]:
    for key in sorted(set(reference.messages) - set(other.messages)):
        yield f"{shown}: {key}: missing (it is in {reference.language}.yml)"
    for key in sorted(set(other.messages) - set(reference.messages)):
        yield f"{shown}: {key}: not in {reference.language}.yml (a typo?)"
    for key in sorted(set(reference.messages) & set(other.messages)):
        wanted, found = placeholders(reference.messages[key]), placeholders(other.messages[key])
        if wanted != found:
            yield f"{shown}: {key}: placeholders {sorted(found)} differ from {sorted(wanted)}"


def check_catalogues(directory: Path = MESSAGES_DIR) -> list[str]:
    """Problems with the catalogues in ``directory``: each loads, and all have the default's keys."""
    problems: list[str] = []
    loaded: list[tuple[Catalogue, str]] = []
    for path in sorted(directory.glob("*.yml")):
        try:
            loaded.append((load_catalogue(path), display_path(path)))
        except MessagesError as error:
            problems.append(str(error))
    reference = next((found for found, _ in loaded if found.language == DEFAULT_LANGUAGE), None)
    if reference is None:
        return problems + [f"{display_path(directory)}: {DEFAULT_LANGUAGE}.yml is missing or invalid"]
    for other, shown in loaded:
        if other is not reference:
            problems.extend(_differences(reference, other, shown))
    return problems
