"""The current-level rule, checked as properties over generated evidence (hypothesis)."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.capability.levels import (
    CertificateRule,
    Fact,
    current_levels,
    gap,
    layers_for,
    requirement,
)

CAPS = {
    "module_completion": 2,
    "assessment": 3,
    "external_certificate": 3,
    "prior_learning": 3,
    "manager_rating": 5,
    "assessor_observation": 5,
}
SOURCES = [*CAPS, "self_rating"]
TODAY = date(2026, 6, 1)

days = st.integers(min_value=-800, max_value=0).map(lambda d: TODAY + timedelta(days=d))


@st.composite
def facts(draw, source=st.sampled_from(SOURCES), validated=st.booleans()):
    achieved = draw(days)
    expires = draw(st.one_of(st.none(), st.integers(0, 900).map(lambda d: achieved + timedelta(d))))
    src = draw(source)
    return Fact(
        "CTL-04",
        src,
        draw(st.integers(0, 5)),
        achieved,
        expires,
        validated=draw(validated) and src != "self_rating",
        ref=draw(st.integers(1, 10**6)),
    )


evidence_lists = st.lists(facts(), max_size=12)


@given(evidence_lists, facts(source=st.sampled_from(list(CAPS)), validated=st.just(True)))
def test_adding_validated_evidence_never_lowers_the_level(existing, extra):
    before = layers_for(existing, CAPS, TODAY).validated
    after = layers_for([*existing, extra], CAPS, TODAY).validated
    assert after >= before


@given(evidence_lists)
def test_level_never_exceeds_a_sources_cap(existing):
    result = layers_for(existing, CAPS, TODAY)
    if result.basis is not None:
        assert result.validated <= CAPS[result.basis.source]
        assert result.validated <= result.basis.level
    best_capped = max(
        [min(f.level, CAPS[f.source]) for f in existing if f.validated and f.source in CAPS],
        default=0,
    )
    assert result.validated <= best_capped


@given(st.integers(1, 5), st.sampled_from(list(CAPS)), days)
def test_a_level_above_the_cap_is_never_granted(level, source, achieved):
    result = layers_for([Fact("X", source, level, achieved)], CAPS, TODAY)
    assert result.validated == min(level, CAPS[source])


@given(st.integers(1, 3), st.integers(0, 400))
def test_expired_evidence_counts_up_to_its_expiry_day_and_is_a_gap_the_day_after(level, span):
    achieved = TODAY - timedelta(days=500)
    cert = Fact("X", "external_certificate", level, achieved, achieved + timedelta(days=span))
    expiry = cert.expires_on
    assert layers_for([cert], CAPS, expiry).validated == level
    assert layers_for([cert], CAPS, expiry + timedelta(days=1)).validated == 0
    assert gap(level, layers_for([cert], CAPS, expiry + timedelta(days=1)).validated) == level


@given(
    st.lists(
        facts(source=st.just("self_rating"), validated=st.just(False)),
        min_size=1,
        max_size=6,
        unique_by=lambda f: f.ref,
    )
)
def test_self_ratings_alone_are_shown_apart_and_never_validate(self_ratings):
    result = layers_for(self_ratings, CAPS, TODAY)
    assert result.validated == 0
    live = [
        f
        for f in self_ratings
        if f.achieved_on <= TODAY and (f.expires_on is None or TODAY <= f.expires_on)
    ]
    latest = max(live, key=lambda f: (f.achieved_on, f.ref)) if live else None
    assert result.self_level == (latest.level if latest else None)


@given(evidence_lists)
def test_unvalidated_evidence_never_counts(existing):
    validated_only = [f for f in existing if f.validated]
    assert (
        layers_for(existing, CAPS, TODAY).validated
        == layers_for(validated_only, CAPS, TODAY).validated
    )


@given(evidence_lists)
def test_future_evidence_does_not_count_yet(existing):
    future = [
        Fact(f.competency, f.source, f.level, TODAY + timedelta(days=1), None, f.validated)
        for f in existing
    ]
    assert layers_for(future, CAPS, TODAY).validated == 0


def test_layers_keep_manager_and_other_evidence_apart():
    result = layers_for(
        [
            Fact("X", "manager_rating", 2, TODAY),
            Fact("X", "assessment", 3, TODAY),
            Fact("X", "self_rating", 5, TODAY, validated=False),
        ],
        CAPS,
        TODAY,
    )
    assert (result.validated, result.manager, result.other, result.self_level) == (3, 2, 3, 5)
    assert result.basis.source == "assessment"


def test_at_the_same_level_the_level_rests_on_the_latest_evidence():
    """Priya completed a module in August and passed the assessment in November, both at
    level 2: the page says her level rests on the assessment, whatever the order found."""
    module = Fact("X", "module_completion", 2, date(2026, 8, 10), ref=1)
    exam = Fact("X", "assessment", 2, date(2026, 11, 2), ref=2)
    manager = Fact("X", "manager_rating", 2, date(2026, 9, 1), ref=3)
    for order in ([module, exam, manager], [exam, manager, module], [manager, module, exam]):
        result = layers_for(order, CAPS, date(2026, 11, 30))
        assert result.validated == 2
        assert result.basis == exam


def test_requirement_is_the_highest_any_role_asks_for():
    assert requirement([{"A": 2, "B": 4}, {"A": 3}]) == {"A": 3, "B": 4}
    assert gap(4, 2) == 2 and gap(2, 4) == 0


# --- certificates prove what the catalogue says ---------------------------------------------

P3O_F = CertificateRule({"GOV-01": 2, "GOV-05": 2}, expires=True)
LIFETIME = CertificateRule({"CTL-04": 2}, expires=False)


def certificate(code: str | None, competency: str = "GOV-01", level: int = 3, expires=None):
    return Fact(
        competency,
        "external_certificate",
        level,
        TODAY - timedelta(days=10),
        expires,
        certificate=code,
        ref=1,
    )


def test_a_certificate_proves_every_competency_the_catalogue_lists_at_its_level():
    levels = current_levels([certificate("P3O-F", level=5)], CAPS, TODAY, {"P3O-F": P3O_F})
    assert {code: layer.validated for code, layer in levels.items()} == {"GOV-01": 2, "GOV-05": 2}
    assert levels["GOV-05"].basis.certificate == "P3O-F"


def test_a_certificate_proves_nothing_in_a_competency_it_does_not_list():
    levels = current_levels(
        [certificate("P3O-F", competency="CTL-04")], CAPS, TODAY, {"P3O-F": P3O_F}
    )
    assert "CTL-04" not in levels and levels["GOV-01"].validated == 2


def test_the_source_cap_still_bounds_the_catalogue_level():
    generous = {"X": CertificateRule({"GOV-01": 5})}
    assert current_levels([certificate("X")], CAPS, TODAY, generous)["GOV-01"].validated == 3


def test_a_certificate_missing_from_the_catalogue_proves_nothing():
    assert current_levels([certificate("NOPE")], CAPS, TODAY, {"P3O-F": P3O_F}) == {}


def test_an_uncoded_certificate_keeps_the_flat_cap():
    assert current_levels([certificate(None, level=5)], CAPS, TODAY, {})["GOV-01"].validated == 3


def test_expiry_applies_only_when_the_catalogue_says_the_certificate_expires():
    lapsed = TODAY - timedelta(days=1)
    expiring = current_levels([certificate("P3O-F", expires=lapsed)], CAPS, TODAY, {"P3O-F": P3O_F})
    assert expiring["GOV-01"].validated == 0
    lifetime = current_levels(
        [certificate("L", competency="CTL-04", expires=lapsed)], CAPS, TODAY, {"L": LIFETIME}
    )
    assert lifetime["CTL-04"].validated == 2


def test_a_calibration_is_needed_two_levels_apart_or_at_level_5():
    from app.capability.levels import needs_calibration

    assert not needs_calibration(3, 4) and not needs_calibration(4, 4)
    assert needs_calibration(5, 3) and needs_calibration(1, 3)
    assert needs_calibration(5, 5) and needs_calibration(4, 5)
