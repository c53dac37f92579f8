"""The project's one YAML loader: ``yaml.SafeLoader`` (plain data, never Python objects) that
refuses a key given twice in one mapping — PyYAML keeps the last silently, so a pasted second
``algo:`` line would change a run without a word. Scenario files (``envs.scenario_file``) and
configs (``training.config.files``) both read YAML through it; it lives on the lowest floor so
both can import it."""

from __future__ import annotations

import yaml

from envs.params import short_repr


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (``<<: *anchor`` merge
    keys may be overridden by the mapping's own keys)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: the base class reports it
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(None, None, f"found the key {short_repr(key)} twice",
                                                        key_node.start_mark)
        return super().construct_mapping(node, deep=deep)
