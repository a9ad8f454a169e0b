"""The current-level rule: how a person's evidence becomes a level in a competency.

Pure functions, no Flask or database: data in, data out.

The rule, in words
------------------
For one person and one competency, on a given date:

1. Only evidence achieved on or before the date counts, and only until its expiry date
   (inclusive): a certificate that expires on 31 March counts on 31 March and is a gap on
   1 April.
2. The **validated level** is the highest level proved by validated evidence — manager
   ratings, assessor observations, assessments, module completions, certificates, prior
   learning — each capped at what its source can prove (``caps``): a completed e-learning
   module proves at most level 2, however high the level it records. A source with no cap
   proves nothing.
3. Self-ratings never count towards the validated level. The latest self-rating is shown
   apart, as the person's own view, until a manager validates it (which records a
   manager rating).
4. An external certificate named by its catalogue code proves what the certificate
   catalogue says (``certificates``): every competency the catalogue lists for it, each at
   the catalogue's level (still within the source cap), whatever level the record claims,
   and nothing in any other competency. A code missing from the catalogue proves nothing.
   It lapses on the record's expiry date only when the catalogue says it expires.
   The catalogue is the one of the framework version the certificate was recorded against
   (``Fact.catalogue``), in both directions: a certificate whose exam a later version
   rates higher or lower keeps proving what it proved when it was recorded, because the
   holder passed the exam the old catalogue described; a new record against the new
   version is how it comes to prove the new level. A version without a catalogue of its
   own (recorded before catalogues existed) is read against the current one.
   Certificate evidence recorded without a code keeps the flat source cap.
5. Ratings are kept in layers — self, manager, other evidence — and the validated level is
   the best of the validated layers, never simply "the latest rating wins". So adding
   validated evidence can never lower a level; only expiry can.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date

from app.framework.diff import requirement as framework_requirement

SELF_RATING = "self_rating"
MANAGER_RATING = "manager_rating"
EXTERNAL_CERTIFICATE = "external_certificate"


@dataclass(frozen=True)
class Fact:
    """One piece of evidence, as the rule sees it."""

    competency: str
    source: str
    level: int
    achieved_on: date
    expires_on: date | None = None
    validated: bool = True
    ref: int | None = None  # the evidence id, to show what a level rests on
    certificate: str | None = None  # external certificates: the catalogue code
    #: external certificates: the framework version whose catalogue says what it proves
    catalogue: int | None = None


@dataclass(frozen=True)
class CertificateRule:
    """What one certificate of the catalogue proves."""

    levels: Mapping[str, int]  # competency code -> the level it proves there
    expires: bool = False  # whether the record's expiry date applies


@dataclass(frozen=True)
class Layers:
    """A person's standing in one competency on one date."""

    validated: int  # the current level: best capped, validated, live evidence; 0 if none
    self_level: int | None  # the latest self-rating, shown apart; None if never rated
    manager: int | None  # best live manager rating (capped), if any
    other: int | None  # best live other validated evidence (capped), if any
    basis: Fact | None  # the evidence the validated level rests on


def is_live(fact: Fact, on: date) -> bool:
    return fact.achieved_on <= on and (fact.expires_on is None or on <= fact.expires_on)


def capped(fact: Fact, caps: Mapping[str, int]) -> int:
    return min(fact.level, caps.get(fact.source, 0))


def _stronger(level: int, fact: Fact, best_level: int, best: Fact) -> bool:
    """A higher level wins; at the same level the more recent evidence is what the level
    rests on (the latest proof is the one a reader wants to see)."""
    return level > best_level or (level == best_level and fact.achieved_on > best.achieved_on)


def layers_for(facts: Iterable[Fact], caps: Mapping[str, int], on: date) -> Layers:
    """Apply the rule to the facts of ONE competency (see the module docstring)."""
    best: dict[str, tuple[int, Fact]] = {}
    latest_self: Fact | None = None
    for fact in facts:
        if not is_live(fact, on):
            continue
        if fact.source == SELF_RATING:
            if latest_self is None or (fact.achieved_on, fact.ref or 0) >= (
                latest_self.achieved_on,
                latest_self.ref or 0,
            ):
                latest_self = fact
            continue
        if not fact.validated:
            continue
        layer = MANAGER_RATING if fact.source == MANAGER_RATING else "other"
        level = capped(fact, caps)
        if layer not in best or _stronger(level, fact, *best[layer]):
            best[layer] = (level, fact)
    winners = sorted(best.values(), key=lambda pair: (pair[0], pair[1].achieved_on), reverse=True)
    return Layers(
        validated=winners[0][0] if winners else 0,
        self_level=latest_self.level if latest_self else None,
        manager=best[MANAGER_RATING][0] if MANAGER_RATING in best else None,
        other=best["other"][0] if "other" in best else None,
        basis=winners[0][1] if winners and winners[0][0] > 0 else None,
    )


def proven(
    facts: Iterable[Fact],
    certificates: Mapping[str, CertificateRule],
    catalogues: Mapping[int, Mapping[str, CertificateRule]] | None = None,
) -> Iterator[Fact]:
    """The facts with each catalogued certificate replaced by what the catalogue says it
    proves (rule 4): one fact per competency it lists, at the catalogue's level. A fact
    whose ``catalogue`` (its version) is in ``catalogues`` is read against that catalogue,
    any other against ``certificates``."""
    for fact in facts:
        if fact.source != EXTERNAL_CERTIFICATE or fact.certificate is None:
            yield fact
            continue
        own = catalogues.get(fact.catalogue) if catalogues and fact.catalogue else None
        rule = (certificates if own is None else own).get(fact.certificate)
        if rule is None:
            continue
        expires_on = fact.expires_on if rule.expires else None
        for code, level in rule.levels.items():
            yield replace(fact, competency=code, level=level, expires_on=expires_on)


def current_levels(
    facts: Iterable[Fact],
    caps: Mapping[str, int],
    on: date,
    certificates: Mapping[str, CertificateRule] | None = None,
    catalogues: Mapping[int, Mapping[str, CertificateRule]] | None = None,
) -> dict[str, Layers]:
    """The layers of every competency that has any evidence, keyed by competency code;
    ``certificates`` is the certificate catalogue by code (rule 4), ``catalogues`` the
    catalogues of older versions by version, for certificates recorded against them."""
    by_code: dict[str, list[Fact]] = {}
    for fact in proven(facts, certificates or {}, catalogues):
        by_code.setdefault(fact.competency, []).append(fact)
    return {code: layers_for(group, caps, on) for code, group in by_code.items()}


#: A person's requirement per competency: the highest level any of their roles asks for.
#: Stated once, in the framework (which also shows what publishing a draft does to it).
requirement = framework_requirement


def gap(required: int, current: int) -> int:
    """How many levels short of the requirement; 0 when met or exceeded."""
    return max(required - current, 0)


#: Self and manager this far apart open a calibration instead of validating.
CALIBRATION_GAP = 2
#: A single manager's rating at this level stands only once a calibration confirms it:
#: level 5 means shaping the organisation's practice, which one line manager rarely sees
#: whole (framework.yaml, the scale's note on level 5).
CALIBRATED_LEVEL = 5


def needs_calibration(self_level: int, manager_level: int) -> bool:
    """Whether a manager's decision on a self-rating opens a calibration instead of
    validating: the two are CALIBRATION_GAP or more levels apart, or the manager rates at
    CALIBRATED_LEVEL."""
    return abs(manager_level - self_level) >= CALIBRATION_GAP or manager_level >= CALIBRATED_LEVEL
