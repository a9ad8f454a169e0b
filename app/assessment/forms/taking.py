"""The attempt page's form: CSRF, the section shown and where to go next; and reading the
posted answers back into each item's own terms.

An item's fields depend on its type (``ShownItem``): ``a<id>`` holds the value shown of the
chosen option (radio buttons; check boxes for multiple response), ``a<id>-<place>`` one
select per premise (matching, the response chosen) or per step (sequencing, its position
from 1), and ``r<id>`` the revision of the saved answer the page showed. The values are
places on the page, never places in the bank: the attempt's ``presentation`` maps them
back. The rules an answer must meet are the item's (``content.answer_problem``, applied by
the use-case); here a posted value is only shaped, with a message where it cannot be.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import HiddenField

from app.assessment.attempt_queries import ShownItem
from app.assessment.attempts import Answer
from app.assessment.content import (
    AR_LETTERS,
    ASSERTION_REASON,
    MATCHING,
    MULTIPLE,
    SEQUENCING,
    SINGLE,
    TRUE_FALSE,
)


class AttemptForm(FlaskForm):
    """The attempt page (and the one-answer autosave): the answers' fields are read by
    ``read_answers``, since they depend on the items shown."""

    #: The section the page showed ("" or "all": every item on one page).
    section = HiddenField()


def _place(value: str | None, size: int) -> int | None:
    """A posted place on the page (0 .. size-1), or None when it is not one."""
    if value is None or not value.isdigit():
        return None
    place = int(value)
    return place if place < size else None


@dataclass
class Read:
    """The answers of a page in the item's terms, the messages of those that could not be
    read, and what the page should show again (in its own terms)."""

    answers: list[Answer] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)
    chosen: dict[int, object] = field(default_factory=dict)


def read_answers(items: list[ShownItem], formdata: MultiDict) -> Read:
    """The answers posted for ``items``; an item whose revision field was not posted is left
    out (the autosave posts one item, a page its own items)."""
    out = Read()
    for item in items:
        raw = formdata.get(f"r{item.id}")
        if raw is None:
            continue
        revision = int(raw) if raw.isdigit() else -1
        answer, chosen, problem = read_one(item, formdata)
        out.chosen[item.id] = chosen
        if problem:
            out.errors[item.id] = problem
        else:
            out.answers.append(Answer(item.id, answer, revision, field=item.field))
    return out


def read_one(item: ShownItem, formdata: MultiDict) -> tuple[object, object, str | None]:
    """(answer in the item's terms, the page's values, a message or None) for one item."""
    reader = READERS[item.type]
    return reader(item, formdata)


def _single(item: ShownItem, formdata: MultiDict):
    value = formdata.get(item.field) or None
    if value is None:
        return None, None, None
    place = _place(value, len(item.order))
    if place is None:
        return None, None, "Choose one of the options."
    return item.order[place], value, None


def _multiple(item: ShownItem, formdata: MultiDict):
    values = [v for v in formdata.getlist(item.field) if v]
    if not values:
        return None, None, None
    places = [_place(v, len(item.order)) for v in values]
    if any(p is None for p in places) or len(set(values)) != len(values):
        return None, set(values), "Choose from the options, each once."
    if item.select is not None and len(values) > item.select:
        return None, set(values), f"Choose at most {item.select} options."
    return sorted(item.order[p] for p in places if p is not None), set(values), None


def _true_false(item: ShownItem, formdata: MultiDict):
    value = formdata.get(item.field) or None
    if value is None:
        return None, None, None
    if value not in ("true", "false"):
        return None, None, "Answer true or false."
    return value == "true", value, None


def _assertion_reason(item: ShownItem, formdata: MultiDict):
    value = formdata.get(item.field) or None
    if value is None:
        return None, None, None
    if value not in AR_LETTERS:
        return None, None, "Choose one of the options A to E."
    return value, value, None


def _matching(item: ShownItem, formdata: MultiDict):
    answer: dict[str, str] = {}
    chosen: dict[str, str] = {}
    for p, premise_id in enumerate(item.premise_ids):
        value = formdata.get(f"{item.field}-{p}") or None
        if value is None:
            continue
        place = _place(value, len(item.order))
        if place is None:
            return None, chosen, "Match each statement to one of the options listed."
        answer[premise_id] = item.order[place]
        chosen[str(p)] = value
    return (answer or None), (chosen or None), None


def _sequencing(item: ShownItem, formdata: MultiDict):
    n = len(item.order)
    chosen: dict[str, str] = {}
    for d in range(n):
        value = formdata.get(f"{item.field}-{d}") or None
        if value is not None:
            chosen[str(d)] = value
    if not chosen:
        return None, None, None
    positions = {d: int(v) if v.isdigit() else 0 for d, v in chosen.items()}
    if len(chosen) < n or sorted(positions.values()) != list(range(1, n + 1)):
        return None, chosen, f"Give each step a different position, from 1 to {n}."
    answer: list[object] = [None] * n
    for place, pos in positions.items():
        answer[pos - 1] = item.order[int(place)]
    return answer, chosen, None


READERS = {
    SINGLE: _single,
    MULTIPLE: _multiple,
    TRUE_FALSE: _true_false,
    ASSERTION_REASON: _assertion_reason,
    MATCHING: _matching,
    SEQUENCING: _sequencing,
}


def with_chosen(item: ShownItem, chosen: Mapping[int, object]) -> ShownItem:
    """``item`` showing the values posted for it (a page shown again with its messages)."""
    if item.id not in chosen:
        return item
    return replace(item, chosen=chosen[item.id])
