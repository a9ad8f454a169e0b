"""How evidence, role assignments and framework versions become the dated spans the reports
read (models.py): the current-level rule (app/capability/levels.py) applied over time.

Pure functions, no Flask or database: data in, data out.

The rule over time, in words
----------------------------
1. **What was known then.** A report as at a past date shows what the organisation knew on
   that date: a piece of evidence counts from the later of the day it was achieved and
   the day it was recorded, so evidence added today (even of a certificate passed last
   year) never changes a report as at last month. It stops counting after its expiry date,
   as on the capability page.
2. **The framework then.** On each date the framework version in force is the one last
   published on or before it; before the first publication, the first version is read.
   Its evidence caps, certificate catalogue and role profiles apply on that date.
3. **Roles then.** A person's requirement on a date comes from the current role
   assignments live that day (start date to end date, both inclusive): per competency the
   highest level any of those roles requires under the version in force, essential when
   any of them holds it essential.
4. A level or a requirement can only change on a date where something starts or stops:
   a piece of evidence, an assignment or a version. Evaluating the rule on each such
   date, and holding its answer until the next, gives every date's answer exactly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from app.capability.levels import CertificateRule, Fact, layers_for, proven

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Era:
    """One framework version's time in force: from ``starts_on`` (None: from the beginning,
    for the first version) until the next era starts."""

    version_id: int
    starts_on: date | None
    caps: Mapping[str, int] = field(default_factory=dict)
    certificates: Mapping[str, CertificateRule] = field(default_factory=dict)
    #: role code -> competency code -> (level, essential)
    profiles: Mapping[str, Mapping[str, tuple[int, bool]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Span:
    """One competency's figure over ``[valid_from, valid_to)``; ``valid_to`` None: open."""

    code: str
    valid_from: date
    valid_to: date | None
    level: int
    essential: bool = False  # requirements only


@dataclass(frozen=True)
class Assignment:
    """A current role assignment, as the rule sees it (end date inclusive)."""

    role: str
    start: date
    end: date | None = None


def known_fact(fact: Fact, recorded_on: date) -> Fact:
    """Rule 1: the fact as the organisation knew it, counting from the later of the day it
    was achieved and the day it was recorded. Its expiry stays as it was."""
    return replace(fact, achieved_on=max(fact.achieved_on, recorded_on))


def era_on(eras: Sequence[Era], on: date) -> Era | None:
    """Rule 2: the era in force on a date (``eras`` in order of starting)."""
    return eras[_era_index(eras, on)] if eras else None


def _merged(points: Sequence[tuple[date, Mapping[str, tuple[int, bool]]]]) -> list[Span]:
    """The figures on each change date, held until the next, as spans: neighbouring equal
    figures joined, zero figures left out."""
    open_spans: dict[str, Span] = {}
    out: list[Span] = []
    for on, figures in points:
        for code in list(open_spans):
            span = open_spans[code]
            if (span.level, span.essential) != figures.get(code, (0, False)):
                out.append(replace(span, valid_to=on))
                del open_spans[code]
        for code, (level, essential) in figures.items():
            if level > 0 and code not in open_spans:
                open_spans[code] = Span(code, on, None, level, essential)
    out.extend(open_spans.values())
    return sorted(out, key=lambda s: (s.code, s.valid_from))


def _era_starts(eras: Sequence[Era]) -> set[date]:
    return {e.starts_on for e in eras if e.starts_on is not None}


def level_spans(
    facts: Iterable[Fact],
    eras: Sequence[Era],
    catalogues: Mapping[int, Mapping[str, CertificateRule]] | None = None,
) -> list[Span]:
    """One person's validated level per competency over time (rules 1, 2 and 4), from their
    facts as known (``known_fact``). ``catalogues`` as for ``current_levels``.

    What ``current_levels(facts, era.caps, on, era.certificates, catalogues)`` gives on each
    change date, computed competency by competency: each era's certificates are expanded
    once (``proven``, as current_levels does), and each competency is evaluated only on its
    own change dates and on its own facts (``layers_for``), so that a person with much
    evidence costs little more than one with a little."""
    facts = list(facts)
    if not facts or not eras:
        return []
    starts = _era_starts(eras)
    #: per era (by position), competency code -> the facts proving something in it
    expanded: list[dict[str, list[Fact]]] = []
    for era in eras:
        groups: dict[str, list[Fact]] = defaultdict(list)
        for fact in proven(facts, era.certificates, catalogues):
            groups[fact.competency].append(fact)
        expanded.append(groups)
    out: list[Span] = []
    for code in sorted({code for groups in expanded for code in groups}):
        mine = [f for groups in expanded for f in groups.get(code, ())]
        changes = {f.achieved_on for f in mine} | starts
        changes |= {f.expires_on + ONE_DAY for f in mine if f.expires_on is not None}
        points = []
        for on in sorted(changes):
            at = _era_index(eras, on)
            group = expanded[at].get(code)
            level = layers_for(group, eras[at].caps, on).validated if group else 0
            points.append((on, {code: (level, False)}))
        out += _merged(points)
    return sorted(out, key=lambda s: (s.code, s.valid_from))


def _era_index(eras: Sequence[Era], on: date) -> int:
    """The position of era_on(eras, on) in ``eras``."""
    current = 0
    for i, era in enumerate(eras):
        if era.starts_on is not None and era.starts_on <= on:
            current = i
    return current


def requirement_on(
    assignments: Iterable[Assignment], era: Era, on: date
) -> dict[str, tuple[int, bool]]:
    """Rule 3: competency code -> (highest required level, essential in any role)."""
    out: dict[str, tuple[int, bool]] = {}
    for a in assignments:
        if not (a.start <= on and (a.end is None or on <= a.end)):
            continue
        for code, (level, essential) in era.profiles.get(a.role, {}).items():
            best, ess = out.get(code, (0, False))
            out[code] = (max(best, level), ess or essential)
    return out


def requirement_spans(assignments: Iterable[Assignment], eras: Sequence[Era]) -> list[Span]:
    """One person's requirement per competency over time (rules 2, 3 and 4)."""
    assignments = list(assignments)
    if not assignments or not eras:
        return []
    changes = {a.start for a in assignments}
    changes |= {a.end + ONE_DAY for a in assignments if a.end is not None}
    changes |= {d for d in _era_starts(eras) if d > min(a.start for a in assignments)}
    points = []
    for on in sorted(changes):
        era = era_on(eras, on)
        assert era is not None
        points.append((on, requirement_on(assignments, era, on)))
    return _merged(points)


def figure_on(spans: Iterable[Span], code: str, on: date) -> int:
    """The level (or requirement) the spans give one competency on a date; 0 if none."""
    for s in spans:
        if s.code == code and s.valid_from <= on and (s.valid_to is None or on < s.valid_to):
            return s.level
    return 0
