"""The rule over time (app/reports/spans.py), pure: examples, and properties over generated
evidence, assignments and framework eras (hypothesis): on every day the spans give exactly
what the current-level rule gives with that day's era, and they are canonical (no overlap,
no equal neighbours, no zeros)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.capability.levels import CertificateRule, Fact, current_levels
from app.reports.spans import (
    Assignment,
    Era,
    Span,
    era_on,
    figure_on,
    known_fact,
    level_spans,
    requirement_on,
    requirement_spans,
)

D0 = date(2025, 1, 1)
CAPS = {"assessment": 3, "manager_rating": 5, "module_completion": 2, "external_certificate": 3}
CODES = ["RISK", "PLAN", "FIN"]


def d(n: int) -> date:
    return D0 + timedelta(days=n)


# -- examples ----------------------------------------------------------------------------


def test_evidence_counts_from_the_later_of_achieved_and_recorded():
    fact = Fact("RISK", "assessment", 3, d(0), d(100))
    assert known_fact(fact, d(40)) == Fact("RISK", "assessment", 3, d(40), d(100))
    assert known_fact(fact, d(-5)) == fact


def test_the_era_in_force_is_the_last_published_on_or_before_the_day():
    eras = [Era(1, None), Era(2, d(10)), Era(3, d(20)), Era(4, d(20))]
    assert era_on(eras, d(-300)).version_id == 1  # before any publication: the first
    assert era_on(eras, d(9)).version_id == 1
    assert era_on(eras, d(10)).version_id == 2
    assert era_on(eras, d(20)).version_id == 4  # two on one day: the later one
    assert era_on([], d(0)) is None


def test_expiry_ends_a_span_the_day_after():
    spans = level_spans([Fact("RISK", "assessment", 3, d(0), d(30))], [Era(1, None, CAPS)])
    assert spans == [Span("RISK", d(0), d(31), 3)]
    assert figure_on(spans, "RISK", d(30)) == 3
    assert figure_on(spans, "RISK", d(31)) == 0


def test_a_higher_level_later_then_back_to_the_lower_one():
    facts = [
        Fact("RISK", "assessment", 2, d(0)),
        Fact("RISK", "manager_rating", 4, d(10), d(19)),
    ]
    assert level_spans(facts, [Era(1, None, CAPS)]) == [
        Span("RISK", d(0), d(10), 2),
        Span("RISK", d(10), d(20), 4),
        Span("RISK", d(20), None, 2),
    ]


def test_a_new_era_changes_the_cap_from_its_first_day_only():
    eras = [Era(1, None, CAPS), Era(2, d(50), {**CAPS, "assessment": 1})]
    assert level_spans([Fact("RISK", "assessment", 3, d(0))], eras) == [
        Span("RISK", d(0), d(50), 3),
        Span("RISK", d(50), None, 1),
    ]


def test_an_era_that_changes_nothing_leaves_one_span():
    eras = [Era(1, None, CAPS), Era(2, d(50), dict(CAPS))]
    assert level_spans([Fact("RISK", "assessment", 3, d(0))], eras) == [Span("RISK", d(0), None, 3)]


def test_a_certificate_reads_the_catalogue_of_its_own_version_or_else_the_eras():
    old = {"P3OF": CertificateRule({"RISK": 2})}
    new = {"P3OF": CertificateRule({"RISK": 3, "PLAN": 1})}
    eras = [Era(1, None, CAPS, {}), Era(2, d(10), CAPS, new)]
    own = Fact("FIN", "external_certificate", 5, d(0), certificate="P3OF", catalogue=7)
    assert level_spans([own], eras, {7: old}) == [Span("RISK", d(0), None, 2)]
    borrowed = Fact("FIN", "external_certificate", 5, d(0), certificate="P3OF", catalogue=1)
    assert level_spans([borrowed], eras, {2: new}) == [
        Span("PLAN", d(10), None, 1),
        Span("RISK", d(10), None, 3),
    ]


def test_nothing_without_facts_or_eras():
    assert level_spans([], [Era(1, None, CAPS)]) == []
    assert level_spans([Fact("RISK", "assessment", 3, d(0))], []) == []
    assert requirement_spans([], [Era(1, None)]) == []


def test_requirements_take_the_highest_level_and_any_essential_with_end_dates_inclusive():
    era = Era(1, None, profiles={"PMOA": {"RISK": (3, False)}, "PM": {"RISK": (2, True)}})
    roles = [Assignment("PMOA", d(0)), Assignment("PM", d(5), d(9))]
    assert requirement_on(roles, era, d(9)) == {"RISK": (3, True)}
    assert requirement_spans(roles, [era]) == [
        Span("RISK", d(0), d(5), 3, False),
        Span("RISK", d(5), d(10), 3, True),
        Span("RISK", d(10), None, 3, False),
    ]


# -- properties --------------------------------------------------------------------------

offsets = st.integers(0, 60)
levels = st.integers(0, 5)
SOURCES = [*CAPS, "prior_learning"]  # prior learning has no cap in some eras


@st.composite
def facts(draw):
    achieved = d(draw(offsets))
    expires = draw(st.one_of(st.none(), st.integers(0, 30).map(lambda n: achieved + timedelta(n))))
    certificate = draw(st.sampled_from([None, None, "C1", "C2", "ZZ"]))
    source = "external_certificate" if certificate else draw(st.sampled_from(SOURCES))
    return Fact(
        draw(st.sampled_from(CODES)),
        source,
        draw(levels),
        achieved,
        expires,
        certificate=certificate,
        catalogue=draw(st.sampled_from([1, 2, 3])) if certificate else None,
    )


catalogues = st.dictionaries(
    st.sampled_from(["C1", "C2"]),
    st.builds(
        CertificateRule,
        st.dictionaries(st.sampled_from(CODES), levels, min_size=1, max_size=2),
        st.booleans(),
    ),
    max_size=2,
)


@st.composite
def eras(draw):
    starts = sorted(draw(st.lists(offsets, max_size=3)))
    out = []
    for i, start in enumerate([None, *starts]):
        caps = draw(st.dictionaries(st.sampled_from(SOURCES), levels))
        profiles = draw(
            st.dictionaries(
                st.sampled_from(["R1", "R2"]),
                st.dictionaries(
                    st.sampled_from(CODES), st.tuples(st.integers(1, 5), st.booleans())
                ),
            )
        )
        out.append(
            Era(i + 1, None if start is None else d(start), caps, draw(catalogues), profiles)
        )
    return out


DAYS = [d(n) for n in range(-2, 100)]


def assert_canonical(spans: list[Span]) -> None:
    for a, b in zip(spans, spans[1:], strict=False):
        if a.code == b.code:
            assert a.valid_to is not None and a.valid_to <= b.valid_from  # no overlap
            assert not (
                a.valid_to == b.valid_from and (a.level, a.essential) == (b.level, b.essential)
            )
    assert all(s.level > 0 and (s.valid_to is None or s.valid_from < s.valid_to) for s in spans)


@given(st.lists(facts(), max_size=8), eras())
def test_level_spans_give_the_rule_on_every_day(fact_list, era_list):
    books = {e.version_id: e.certificates for e in era_list if e.certificates}
    spans = level_spans(fact_list, era_list, books)
    assert_canonical(spans)
    for on in DAYS:
        era = era_on(era_list, on)
        rule = current_levels(fact_list, era.caps, on, era.certificates, books)
        for code in CODES:
            expected = rule[code].validated if code in rule else 0
            assert figure_on(spans, code, on) == expected, (code, on)


@st.composite
def assignments(draw):
    start = d(draw(offsets))
    end = draw(st.one_of(st.none(), st.integers(0, 30).map(lambda n: start + timedelta(n))))
    return Assignment(draw(st.sampled_from(["R1", "R2", "R3"])), start, end)


@given(st.lists(assignments(), max_size=5), eras())
def test_requirement_spans_give_the_rule_on_every_day(assignment_list, era_list):
    spans = requirement_spans(assignment_list, era_list)
    assert_canonical(spans)
    for on in DAYS:
        wanted = requirement_on(assignment_list, era_on(era_list, on), on)
        for code in CODES:
            live = [s for s in spans if s.code == code and s.valid_from <= on]
            live = [s for s in live if s.valid_to is None or on < s.valid_to]
            assert [(s.level, s.essential) for s in live] == (
                [wanted[code]] if code in wanted else []
            ), (code, on)
