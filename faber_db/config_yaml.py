"""The YAML reader of the config: safe_load with two refusals.

* A key given twice in one mapping is an error naming the key (plain YAML
  keeps the last one, so a second ``safety:`` would silently replace the
  whole section). Keys brought in by a ``<<:`` merge may be overridden, as
  YAML intends.
* Aliases may not expand the document by more than MAX_ALIAS_NODES nodes, and
  may not be recursive: a "billion laughs" document is tiny on disk but
  expands to billions of values as soon as anything walks it (the schema
  validator, an error message).

libyaml's parser is used when PyYAML has it, else the pure-Python one.
"""

from __future__ import annotations

import yaml

MAX_ALIAS_NODES = 10_000
_MERGE_TAG = "tag:yaml.org,2002:merge"
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ConfigYamlError(yaml.YAMLError):
    """A YAML document that parses but that faber-db refuses to load."""


class _StrictLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """SafeLoader that refuses duplicate keys."""

    def construct_mapping(self, node, deep=False):
        """The mapping, after checking that no key appears twice."""
        if isinstance(node, yaml.MappingNode):
            _refuse_duplicates(self, node)
        return super().construct_mapping(node, deep=deep)


def _refuse_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> None:
    seen: set = set()
    for key_node, _value in node.value:
        if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
            continue
        key = loader.construct_object(key_node)
        if key in seen:
            line = key_node.start_mark.line + 1
            raise ConfigYamlError(
                f"duplicate key '{key}' (line {line}): only one may be given "
                "(the second would silently replace the first)"
            )
        seen.add(key)


def load_yaml(text: str):
    """The document in text, like yaml.safe_load; ConfigYamlError for what we refuse."""
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if "*" in text:  # every alias starts with "*": without one, nothing to expand
            check_alias_expansion(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def check_alias_expansion(root: yaml.Node, limit: int = MAX_ALIAS_NODES) -> None:
    """Refuse a node graph whose aliases add more than limit nodes, or form a cycle.

    The composer makes every alias point at its anchor's node, so the graph is
    walked once: each distinct collection's expanded size is computed from its
    children's, and compared with the number of distinct nodes.
    """
    sizes: dict[int, int] = {}
    scalars: set[int] = set()
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes.get(id(child), 1) for child in _children(node))
            if sizes[key] - len(sizes) - len(scalars) > limit:
                raise _too_many(limit)
        elif isinstance(node, yaml.ScalarNode):
            scalars.add(key)
        elif key in open_nodes:
            line = node.start_mark.line + 1
            raise ConfigYamlError(f"recursive alias (line {line}): a value may not contain itself")
        elif key not in sizes:
            open_nodes.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    return []


def _too_many(limit: int) -> ConfigYamlError:
    return ConfigYamlError(
        f"YAML aliases expand to more than {limit} extra values: refused "
        "(a config needs few anchors; this looks like an alias bomb)"
    )
