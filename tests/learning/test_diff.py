"""The diff between two path versions (pure): details, target roles, prerequisites, and
modules added, removed, changed (evidence levels included) and reordered."""

from __future__ import annotations

from dataclasses import replace

from app.learning.content import module, path_content
from app.learning.diff import EvidenceChange, FieldChange, ModuleRef, diff, first_version

LESSON = "## Key ideas\n\nA register earns its keep when owners act. " * 3


def a_module(code: str, **changes):
    values = {
        "code": code,
        "title": f"Module {code}",
        "type": "e-learning",
        "minutes": 90,
        "outcomes": ["Explain it.", "Apply it."],
        "evidences": {"CTL-04": 1},
        "lesson": LESSON,
    }
    values.update(changes)
    return module(**values)


def a_path(modules=None, **changes):
    values = {
        "code": "RISK",
        "title": "Risk basics",
        "summary": "For PMO staff.",
        "audience": ["R04"],
        "prerequisite_sets": [[("certificate", "P3O-F")]],
        "modules": modules or [a_module("RISK-01"), a_module("RISK-02"), a_module("RISK-03")],
    }
    values.update(changes)
    return path_content(**values)


def test_identical_versions_have_an_empty_diff():
    assert diff(a_path(), a_path()).empty


def test_details_audience_and_prerequisites():
    new = a_path(
        title="Risk for coordinators",
        open_enrolment=False,
        audience=["R03", "R04"],
        prerequisite_sets=[[("path", "P3OF"), ("certificate", "P3O-F")]],
    )
    result = diff(a_path(), new)
    assert result.details == (
        FieldChange("title", "Risk basics", "Risk for coordinators"),
        FieldChange("open enrolment", "open", "by enrolment only"),
    )
    assert (result.audience_added, result.audience_removed) == (("R03",), ())
    assert result.prerequisites_added == ((("certificate", "P3O-F"), ("path", "P3OF")),)
    assert result.prerequisites_removed == ((("certificate", "P3O-F"),),)
    assert not result.evidence_changed


def test_modules_added_removed_and_changed_field_by_field():
    old = a_path()
    new = a_path(
        [
            a_module("RISK-01", title="Registers", minutes=120, optional=True),
            a_module(
                "RISK-03",
                type="workshop",
                evidences={"CTL-04": 2, "GOV-01": 1},
                requires=["RISK-01"],
                outcomes=["Explain it.", "Apply it.", "Judge it."],
                lesson=LESSON + " More.",
            ),
            a_module("RISK-04", type="on-the-job", evidences={"CTL-04": 4}),
        ]
    )
    result = diff(old, new)
    assert result.added == (ModuleRef("RISK-04", "Module RISK-04", "on-the-job"),)
    assert result.removed == (ModuleRef("RISK-02", "Module RISK-02", "e-learning"),)
    first, third = result.changed
    assert first.code == "RISK-01" and first.title == "Registers"
    assert first.changes == (
        FieldChange("title", "Module RISK-01", "Registers"),
        FieldChange("hours", 1.5, 2),
        FieldChange("optional", "required", "optional"),
    )
    assert first.evidences == ()
    fields = {c.field: (c.old, c.new) for c in third.changes}
    assert fields["type"] == ("E-learning", "Workshop")
    assert fields["requires"] == (None, "RISK-01")
    assert fields["outcomes"][1][-1] == "Judge it."
    assert fields["lesson"] == ("30 words", "31 words")
    assert third.evidences == (
        EvidenceChange("CTL-04", 1, 2),
        EvidenceChange("GOV-01", None, 1),
    )
    assert result.evidence_changed
    assert result.reordered is None


def test_a_module_losing_an_evidence_shows_it_gone():
    new = a_path(
        [a_module("RISK-01", evidences={"GOV-01": 1}), a_module("RISK-02"), a_module("RISK-03")]
    )
    (change,) = diff(a_path(), new).changed
    assert change.evidences == (
        EvidenceChange("CTL-04", 1, None),
        EvidenceChange("GOV-01", None, 1),
    )


def test_reordering_is_reported():
    old = a_path()
    new = replace(old, modules=(old.modules[1], old.modules[0], old.modules[2]))
    result = diff(old, new)
    assert result.reordered == (
        ("RISK-01", "RISK-02", "RISK-03"),
        ("RISK-02", "RISK-01", "RISK-03"),
    )
    assert not result.changed and not result.empty


def test_first_version_shows_everything_as_new():
    result = first_version(a_path())
    assert [m.code for m in result.added] == ["RISK-01", "RISK-02", "RISK-03"]
    assert result.audience_added == ("R04",)
    assert result.prerequisites_added == ((("certificate", "P3O-F"),),)
    assert result.details == ()


def test_the_canonical_content_ignores_spacing_and_order():
    one = a_path(audience=["R04", "R03"], summary="For  PMO\nstaff.")
    two = a_path(audience=["R03", "R04", "R03"], summary="For PMO staff.")
    assert one == two and one.digest() == two.digest()
    assert a_path(title="Other").digest() != one.digest()
