"""Reading the content editors' YAML files: one error type, one way to name a file.

Every editors' file (the team catalogue, the route table, the emergency
lexicon, the message catalogue) is read with :func:`read_mapping` and reports
its mistakes as a :class:`ContentError` whose message names the file, relative
to the project when it lies inside it, and the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ContentError(ValueError):
    """An editors' file is missing, unreadable or invalid; the message names the file and key."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key written twice in one mapping (plain YAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is written twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _UniqueKeyLoader.construct_mapping
)


def display_path(path: Path) -> str:
    """``path`` relative to the project when it lies inside it, as editors know it."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def read_mapping(path: Path, error: type[ContentError] = ContentError) -> dict[str, Any]:
    """The YAML mapping in ``path``; raise ``error`` naming the file when it cannot be one.

    A key written twice in one mapping is an error (plain YAML would silently keep the last).
    """
    shown = display_path(path)
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except OSError as problem:
        raise error(f"{shown}: cannot read the file ({problem.strerror})") from None
    except yaml.YAMLError as problem:
        raise error(f"{shown}: not valid YAML: {problem}") from None
    if not isinstance(document, dict):
        raise error(f"{shown}: expected a mapping at the top level")
    return document
