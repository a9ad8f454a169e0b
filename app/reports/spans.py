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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from app.capability.levels import CertificateRule, Fact, current_levels

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
    current = eras[0] if eras else None
    for era in eras:
        if era.starts_on is not None and era.starts_on <= on:
            current = era
    return current


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
    facts as known (``known_fact``). ``catalogues`` as for ``current_levels``."""
    facts = list(facts)
    if not facts or not eras:
        return []
    changes = {f.achieved_on for f in facts}
    changes |= {f.expires_on + ONE_DAY for f in facts if f.expires_on is not None}
    changes |= {d for d in _era_starts(eras) if d > min(f.achieved_on for f in facts)}
    points = []
    for on in sorted(changes):
        era = era_on(eras, on)
        assert era is not None
        layers = current_levels(facts, era.caps, on, era.certificates, catalogues)
        points.append((on, {code: (lay.validated, False) for code, lay in layers.items()}))
    return _merged(points)


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
