"""The level and requirement spans computed set-wise in SQL, for bulk changes: an import, a
framework publication, ``flask reports refresh``, the demo build.

It states the same rule as app/reports/spans.py (read that first), as one INSERT … SELECT per
table that runs on SQLite and PostgreSQL alike, never a loop over people:

1. **Eras.** The framework's published and retired versions in order of publication, each
   in force from the day it was published until the next one was (the first from the
   beginning of time).
2. **Facts.** Validated evidence other than self-ratings, counting from the later of the
   day achieved and the day recorded until the day after it expires. An external
   certificate with a catalogue code becomes one fact per competency the catalogue lists:
   its own version's catalogue when that version has one, otherwise the catalogue of each
   era in turn (so such a fact is cut at the era's edges). Its expiry applies only when
   the catalogue says the certificate expires.
3. **Pieces.** Each fact cut at the eras' edges, its level capped by that era's cap for
   its source (no cap: it proves nothing); role assignments likewise become pieces of
   each role profile line of the era.
4. **The upper envelope.** Per person and competency, the dates where a piece starts or
   ends cut time into segments; a segment's figure is the highest piece covering it.
5. **Spans.** Neighbouring segments with equal figures merge (gaps and islands, with
   window functions), and segments at zero are dropped.

Whenever the level spans of some people are rewritten, so are their distances to each role
(app/reports/distances.py), as at today.

The Python rule (maintain.refresh_people_py) stays the reference: ``differences`` checks
the stored spans against it, and tests/reports/test_bulk.py checks this path against it on
random organisations.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Date,
    Integer,
    Select,
    Text,
    and_,
    case,
    cast,
    delete,
    false,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from app.capability.models import Evidence
from app.framework.models import (
    Certificate,
    Competency,
    EvidenceCap,
    Framework,
    FrameworkVersion,
    RoleRequirement,
    Source,
    VersionStatus,
)
from app.framework.versions import FRAMEWORK_CODE
from app.org.models import AssignmentKind, Person, RoleAssignment
from app.reports import distances
from app.reports.models import LevelSpan, RequirementSpan

#: The first version's era starts here: before any evidence anyone holds.
DAWN = date(1, 1, 1)


# -- two date functions every engine spells its own way ----------------------------------


class next_day(FunctionElement):  # noqa: N801 (an SQL function's name)
    """The day after a date (NULL stays NULL)."""

    type = Date()
    inherit_cache = True


class day_of(FunctionElement):  # noqa: N801
    """The date part of a timestamp."""

    type = Date()
    inherit_cache = True


@compiles(next_day, "sqlite")
def _next_day_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, '+1 day')"


@compiles(next_day)
def _next_day(element: Any, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)} + 1)"  # PostgreSQL: date + integer


@compiles(day_of, "sqlite")
def _day_of_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(day_of)
def _day_of(element: Any, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS DATE)"


def _later(a: Any, b: Any) -> ColumnElement:
    """The later of two dates, neither NULL."""
    return case((a >= b, a), else_=b)


def _earlier_end(a: Any, b: Any) -> ColumnElement:
    """The earlier of two span ends, NULL meaning never."""
    return case((a.is_(None), b), (b.is_(None), a), (a <= b, a), else_=b)


def _overlaps(starts: Any, ends: Any, other_starts: Any, other_ends: Any) -> ColumnElement:
    """[starts, ends) and [other_starts, other_ends) share a day (NULL ends: open)."""
    return and_(
        or_(other_ends.is_(None), starts < other_ends),
        or_(ends.is_(None), ends > other_starts),
    )


# -- the building blocks -----------------------------------------------------------------


def eras_cte(code: str = FRAMEWORK_CODE) -> CTE:
    """(version_id, starts, ends): each published or retired version's time in force;
    ``ends`` NULL for the version in force now. Versions published on the same day leave the
    earlier ones an empty era, as in spans.era_on."""
    ordered = (
        select(
            FrameworkVersion.id.label("version_id"),
            day_of(FrameworkVersion.published_at).label("published_on"),
            func.row_number()
            .over(order_by=(FrameworkVersion.published_at, FrameworkVersion.number))
            .label("n"),
        )
        .join(Framework, Framework.id == FrameworkVersion.framework_id)
        .where(
            Framework.code == code,
            FrameworkVersion.status.in_([VersionStatus.PUBLISHED, VersionStatus.RETIRED]),
            FrameworkVersion.published_at.is_not(None),
        )
        .cte("versions")
    )
    return select(
        ordered.c.version_id,
        case((ordered.c.n == 1, literal(DAWN, Date)), else_=ordered.c.published_on).label("starts"),
        func.lead(ordered.c.published_on).over(order_by=ordered.c.n).label("ends"),
    ).cte("eras")


def catalogue_cte(eras: CTE) -> CTE:
    """(version_id, certificate, expires, competency_code, level): the certificate catalogue
    of every era's version, one row per competency a certificate proves (its JSON
    ``evidences`` expanded with json_each, which SQLite and PostgreSQL both have)."""
    proves = func.json_each(Certificate.evidences).table_valued("key", "value").alias("proves")
    return (
        select(
            Certificate.version_id,
            Certificate.code.label("certificate"),
            Certificate.expires,
            proves.c.key.label("competency_code"),
            cast(cast(proves.c.value, Text), Integer).label("level"),
        )
        .select_from(Certificate)
        .join(proves, true())
        .where(Certificate.version_id.in_(select(eras.c.version_id)))
        .cte("catalogue")
    )


#: Whose spans to compute: everyone (None), a SELECT of person ids, or the ids themselves (a
#: list lets the planner go through each table's person index).
People = Select | Sequence[int] | None


def _in_scope(column: Any, people: People) -> ColumnElement:
    return true() if people is None else column.in_(people)


def facts_cte(eras: CTE, people: People) -> CTE:
    """(person_id, competency_code, source, level, starts, ends): what validated evidence
    proves, from the day it was known until the day after it expires (step 2 above)."""
    catalogue = catalogue_cte(eras)
    # The versions whose certificates read their own catalogue: those in force at some time
    # with at least one certificate (as maintain.computed's ``catalogues``).
    own_catalogue = (
        select(Certificate.version_id)
        .where(Certificate.version_id.in_(select(eras.c.version_id)))
        .distinct()
    )
    # The evidence that counts, read once (through the person index when refreshing a few
    # people), with the day it became known and the day after it expires.
    counted = (
        select(
            Evidence.person_id,
            Evidence.competency_id,
            Evidence.competency_code,
            Evidence.source,
            Evidence.level,
            Evidence.certificate_code,
            _later(Evidence.achieved_on, day_of(Evidence.recorded_at)).label("starts"),
            next_day(Evidence.expires_on).label("ends"),
        )
        .where(
            Evidence.validated.is_(True),
            Evidence.source != Source.SELF_RATING,
            _in_scope(Evidence.person_id, people),
        )
        .cte("known_evidence")
    )
    catalogued = and_(
        counted.c.source == Source.EXTERNAL_CERTIFICATE, counted.c.certificate_code.is_not(None)
    )
    plain = select(
        counted.c.person_id,
        counted.c.competency_code,
        counted.c.source,
        counted.c.level,
        counted.c.starts,
        counted.c.ends,
    ).where(~catalogued)
    cert_ends = case((catalogue.c.expires.is_(True), counted.c.ends), else_=null())
    own = (
        select(
            counted.c.person_id,
            catalogue.c.competency_code,
            counted.c.source,
            catalogue.c.level,
            counted.c.starts,
            cert_ends,
        )
        .select_from(counted)
        .join(Competency, Competency.id == counted.c.competency_id)
        .join(
            catalogue,
            and_(
                catalogue.c.version_id == Competency.version_id,
                catalogue.c.certificate == counted.c.certificate_code,
            ),
        )
        .where(catalogued)
    )
    # A certificate recorded against a version without a catalogue of its own reads each
    # era's catalogue while that era lasts.
    borrowed = (
        select(
            counted.c.person_id,
            catalogue.c.competency_code,
            counted.c.source,
            catalogue.c.level,
            _later(counted.c.starts, eras.c.starts),
            _earlier_end(cert_ends, eras.c.ends),
        )
        .select_from(counted)
        .join(Competency, Competency.id == counted.c.competency_id)
        .join(catalogue, catalogue.c.certificate == counted.c.certificate_code)
        .join(
            eras,
            and_(
                eras.c.version_id == catalogue.c.version_id,
                _overlaps(counted.c.starts, cert_ends, eras.c.starts, eras.c.ends),
            ),
        )
        .where(catalogued, Competency.version_id.not_in(own_catalogue))
    )
    return union_all(plain, own, borrowed).cte("facts")


def level_pieces(eras: CTE, people: People) -> CTE:
    """(person_id, competency_code, level, starts, ends): each fact within one era, capped
    by that era's cap for its source; pieces at level 0 left out (step 3)."""
    facts = facts_cte(eras, people)
    cap = func.coalesce(EvidenceCap.max_level, 0)
    capped = case((facts.c.level <= cap, facts.c.level), else_=cap)
    return (
        select(
            facts.c.person_id,
            facts.c.competency_code,
            capped.label("level"),
            _later(facts.c.starts, eras.c.starts).label("starts"),
            _earlier_end(facts.c.ends, eras.c.ends).label("ends"),
        )
        .select_from(facts)
        .join(eras, _overlaps(facts.c.starts, facts.c.ends, eras.c.starts, eras.c.ends))
        .outerjoin(
            EvidenceCap,
            and_(
                EvidenceCap.version_id == eras.c.version_id,
                EvidenceCap.source == facts.c.source,
            ),
        )
        .where(or_(facts.c.ends.is_(None), facts.c.starts < facts.c.ends), capped > 0)
        .cte("pieces")
    )


def requirement_pieces(eras: CTE, people: People) -> CTE:
    """(person_id, competency_code, required, essential, starts, ends): each current-role
    assignment within one era, one piece per line of the role's profile in that era."""
    ends = next_day(RoleAssignment.end_date)
    return (
        select(
            RoleAssignment.person_id,
            Competency.code.label("competency_code"),
            RoleRequirement.level.label("required"),
            case((RoleRequirement.essential.is_(True), 1), else_=0).label("essential"),
            _later(RoleAssignment.start_date, eras.c.starts).label("starts"),
            _earlier_end(ends, eras.c.ends).label("ends"),
        )
        .join(eras, _overlaps(RoleAssignment.start_date, ends, eras.c.starts, eras.c.ends))
        .join(
            RoleRequirement,
            and_(
                RoleRequirement.version_id == eras.c.version_id,
                RoleRequirement.role_id == RoleAssignment.role_id,
            ),
        )
        .join(Competency, Competency.id == RoleRequirement.competency_id)
        .where(
            RoleAssignment.kind == AssignmentKind.CURRENT,
            _in_scope(RoleAssignment.person_id, people),
        )
        .cte("pieces")
    )


def spans_select(pieces: CTE, figures: list[str]) -> Select:
    """(person_id, competency_code, valid_from, valid_to, *figures): the upper envelope of
    the pieces per person and competency (each figure the highest of the pieces covering a
    day), as maximal spans of equal figures, zero left out (steps 4 and 5).

    A competency resting on one piece alone (most requirements, many levels) is that piece;
    only the others go through the envelope."""
    key = (pieces.c.person_id, pieces.c.competency_code)
    counted = select(pieces, func.count().over(partition_by=key).label("pieces_in_key")).cte(
        "counted"
    )
    alone = select(
        counted.c.person_id,
        counted.c.competency_code,
        counted.c.starts.label("valid_from"),
        counted.c.ends.label("valid_to"),
        *(counted.c[f] for f in figures),
    ).where(counted.c.pieces_in_key == 1)
    shared = select(counted).where(counted.c.pieces_in_key > 1).cte("shared")
    return select(union_all(alone, _envelope(shared, figures)).subquery("spans"))


def _envelope(pieces: CTE, figures: list[str]) -> Select:
    key = (pieces.c.person_id, pieces.c.competency_code)
    # Every date where a piece starts or ends; the same date twice makes an empty segment,
    # dropped below.
    points = union_all(
        select(*key, pieces.c.starts.label("at")),
        select(*key, pieces.c.ends).where(pieces.c.ends.is_not(None)),
    ).cte("points")
    by_key = (points.c.person_id, points.c.competency_code)
    segments = select(
        *by_key,
        points.c.at,
        func.lead(points.c.at).over(partition_by=by_key, order_by=points.c.at).label("next"),
    ).cte("segments")
    seg_key = (segments.c.person_id, segments.c.competency_code, segments.c.at)
    covering = and_(
        pieces.c.person_id == segments.c.person_id,
        pieces.c.competency_code == segments.c.competency_code,
        pieces.c.starts <= segments.c.at,
        or_(pieces.c.ends.is_(None), pieces.c.ends > segments.c.at),
    )
    valued = (
        select(
            *seg_key,
            *(func.coalesce(func.max(pieces.c[f]), 0).label(f) for f in figures),
        )
        .select_from(segments)
        .outerjoin(pieces, covering)
        .where(or_(segments.c.next.is_(None), segments.c.next > segments.c.at))
        .group_by(*seg_key)
        .cte("valued")
    )
    # Keep the segments whose figures differ from the one before (gaps and islands): each
    # starts a span that lasts until the next such segment.
    part = (valued.c.person_id, valued.c.competency_code)
    before = [
        func.lag(valued.c[f]).over(partition_by=part, order_by=valued.c.at).label(f"was_{f}")
        for f in figures
    ]
    compared = select(valued, *before).cte("compared")
    changed = or_(
        compared.c[f"was_{figures[0]}"].is_(None),
        *(compared.c[f] != compared.c[f"was_{f}"] for f in figures),
    )
    starts = (
        select(
            compared.c.person_id,
            compared.c.competency_code,
            compared.c.at.label("starts"),
            func.lead(compared.c.at)
            .over(
                partition_by=(compared.c.person_id, compared.c.competency_code),
                order_by=compared.c.at,
            )
            .label("ends"),
            *(compared.c[f] for f in figures),
        )
        .where(changed)
        .cte("changes")
    )
    return select(starts).where(starts.c[figures[0]] > 0)


# -- writing -----------------------------------------------------------------------------


def lock_people(connection: Connection, people: People) -> None:
    """PostgreSQL: take these people's rows (everyone's, for None) FOR NO KEY UPDATE in id
    order before rewriting their spans, so that two transactions refreshing the same person
    take turns, and the second reads what the first committed instead of colliding with the
    spans it wrote. Evidence and role assignments can still be added meanwhile (their
    foreign-key checks need only a KEY SHARE lock). SQLite has one writer at a time."""
    if connection.dialect.name != "postgresql":
        return
    query = select(Person.id).order_by(Person.id).with_for_update(key_share=True)
    if people is not None:
        query = query.where(Person.id.in_(people))
    connection.execute(query).all()


def _rewrite(
    session: Session, people: People, *, levels: bool = True, requirements: bool = True
) -> None:
    connection = session.connection()
    lock_people(connection, people)
    eras = eras_cte()
    if levels:
        connection.execute(delete(LevelSpan).where(_in_scope(LevelSpan.person_id, people)))
        connection.execute(
            insert(LevelSpan).from_select(
                ["person_id", "competency_code", "valid_from", "valid_to", "level"],
                spans_select(level_pieces(eras, people), ["level"]),
            )
        )
        # What the bench report reads follows the levels (distances.py).
        distances.rewrite(connection, people, distances.today())
    if requirements:
        connection.execute(
            delete(RequirementSpan).where(_in_scope(RequirementSpan.person_id, people))
        )
        wanted = spans_select(
            requirement_pieces(eras, people), ["required", "essential"]
        ).subquery()
        connection.execute(
            insert(RequirementSpan).from_select(
                ["person_id", "competency_code", "valid_from", "valid_to", "required", "essential"],
                select(
                    wanted.c.person_id,
                    wanted.c.competency_code,
                    wanted.c.valid_from,
                    wanted.c.valid_to,
                    wanted.c.required,
                    case((wanted.c.essential == 1, true()), else_=false()),
                ),
            )
        )


def refresh_all_sql(session: Session) -> None:
    """Rewrite everyone's spans in SQL, in the caller's transaction."""
    _rewrite(session, None)


def refresh_people_sql(
    session: Session,
    people: Select | Sequence[int],
    *,
    levels: bool = True,
    requirements: bool = True,
) -> None:
    """Rewrite the spans of some people in SQL, in the caller's transaction: ``people`` is a
    SELECT of their ids, or the ids (a bound parameter each: a few thousand at most); their
    ``levels``, their ``requirements`` or both."""
    _rewrite(session, people, levels=levels, requirements=requirements)
