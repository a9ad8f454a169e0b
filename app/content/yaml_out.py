"""Writing content files back as YAML the way a person would write them: long prose folded,
lessons and multi-line text as literal blocks, short lists on one line, keys in the order
given. Every ``content export`` writes through here."""

from __future__ import annotations

import yaml


class Folded(str):
    """Prose written as a folded block (``>``)."""


class Literal(str):
    """Text kept line for line (``|``): lessons, Markdown, cases."""


class Flow(list):
    """A short list written on one line: ``[a, b, c]``."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    Folded, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style=">")
)
_Dumper.add_representer(
    Literal, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style="|")
)
_Dumper.add_representer(
    Flow, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)


def long_text(text: str) -> str:
    """Folded when longer than a short line, as written by hand."""
    return Folded(text) if len(text) > 60 else text


def dump(doc: object) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=92)
