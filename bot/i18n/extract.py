"""Babel extractor for the Rasa domain: every response text and button title becomes a message
with the response name as context. Used by ``make i18n`` through ``babel.cfg``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import yaml


def _scalar(node: yaml.Node, key: str) -> yaml.ScalarNode | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == key and isinstance(v, yaml.ScalarNode):
                return v
    return None


def _items(node: yaml.Node, key: str) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == key and isinstance(v, yaml.SequenceNode):
                return list(v.value)
    return []


def extract_domain(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str, tuple[str, str], list[str]]]:
    root = yaml.compose(fileobj.read().decode("utf-8"))
    if not isinstance(root, yaml.MappingNode):
        return
    for key, value in root.value:
        if key.value != "responses" or not isinstance(value, yaml.MappingNode):
            continue
        for name_node, variations in value.value:
            name = name_node.value
            if not isinstance(variations, yaml.SequenceNode):
                continue
            for variation in variations.value:
                text = _scalar(variation, "text")
                if text is not None:
                    yield text.start_mark.line + 1, "pgettext", (name, text.value), []
                for button in _items(variation, "buttons"):
                    title = _scalar(button, "title")
                    if title is not None:
                        yield (
                            title.start_mark.line + 1,
                            "pgettext",
                            (f"{name}:button", title.value),
                            [],
                        )
