"""Capability pages through HTTP: self-rating, the manager's validation queue, decisions,
calibrations, who may see which page, and a query count that does not grow with the data.

CSRF protection stays on: every POST sends back the csrf_token of the page it comes from.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import escape as html_escape
from sqlalchemy import func, insert, select

from app.accounts.models import Permission
from app.capability.models import (
    Calibration,
    CalibrationStatus,
    Evidence,
    RatingStatus,
    ValidationDecision,
)
from app.extensions import db
from app.framework.models import Competency, RoleRequirement, Source
from app.framework.versions import published_version
from app.org.models import AssignmentKind, Role
from tests.factories import assign, make_person, make_role, make_unit, make_user
from tests.shipped import load_shipped_content

CURRICULA = Path(__file__).resolve().parents[2] / "curricula"
#: A competency PMO Co-ordinators (R04) need at level 3, essential.
CODE = "FIN-01"


# --- helpers ----------------------------------------------------------------------------------


def csrf_from(html: str) -> str:
    tag = re.search(r'<input[^>]*\bname="csrf_token"[^>]*>', html)
    assert tag, "the page has no csrf_token input"
    return re.search(r'\bvalue="([^"]+)"', tag.group(0)).group(1)


def csrf_for(client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, f"GET {path} gave {page.status_code}"
    return csrf_from(page.text)


class _Feedback(HTMLParser):
    """Each ``invalid-feedback`` message, under the form control just before it."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.last: str | None = None
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.invalid: set[str] = set()
        self._text: list[str] | None = None
        self._owner: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag in ("input", "select", "textarea") and attrs.get("name"):
            self.last = attrs["name"]
            if "is-invalid" in classes:
                self.invalid.add(attrs["name"])
        elif tag == "div" and "invalid-feedback" in classes:
            self._text, self._owner = [], self.last

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "div" and self._text is not None:
            self.errors[self._owner].append("".join(self._text).strip())
            self._text = None


def field_errors(html: str) -> _Feedback:
    parser = _Feedback()
    parser.feed(html)
    parser.close()
    return parser


@dataclass
class Row:
    """One row of a role table on a capability page."""

    required: int
    validated: int
    self_cell: str
    gap: str


def table_row(html: str, role_code: str, competency: str) -> Row:
    table = re.search(rf'<table[^>]*data-testid="role-table-{role_code}".*?</table>', html, re.S)
    assert table, f"no table for role {role_code}"
    row = re.search(rf'<tr data-competency="{competency}">(.*?)</tr>', table.group(0), re.S)
    assert row, f"no row for {competency} in {role_code}"
    cells = [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    ]
    return Row(int(cells[1]), int(cells[2]), cells[3], cells[4])


def count(model, *where) -> int:
    with db.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model).where(*where))


def snapshot() -> dict[str, list[str]]:
    """Every committed row of every table, read on a connection of its own (login sessions
    are left out: they record each request's time)."""
    with db.engine.connect() as conn:
        return {
            t.name: sorted(repr(tuple(r)) for r in conn.execute(t.select()))
            for t in db.metadata.sorted_tables
            if t.name != "login_sessions"
        }


# --- the scene --------------------------------------------------------------------------------


@dataclass
class Scene:
    learner: object
    manager: object
    admin: object
    outsider: object
    colleague: object
    learner_id: int
    manager_id: int
    outsider_id: int
    colleague_id: int


@pytest.fixture
def scene(session) -> Scene:
    """The shipped framework; a manager heading a unit with a PMO Co-ordinator (R04) and a
    colleague in it; an outsider in another unit; an admin."""
    load_shipped_content(session, certificates=False)
    unit = make_unit("Enterprise PMO")
    boss = make_person("Dana", "Boss", unit=unit)
    unit.head_id = boss.id
    learner = make_person("Lee", "Learner", unit=unit, manager=boss)
    colleague = make_person("Cal", "Colleague", unit=unit, manager=boss)
    outsider = make_person("Otto", "Outsider", unit=make_unit("Finance"))
    r04 = session.scalar(select(Role).where(Role.code == "R04"))
    for person in (learner, colleague, outsider):
        assign(person, r04)
    scene = Scene(
        learner=make_user(Permission.LEARNER, person=learner),
        manager=make_user(Permission.LEARNER, Permission.MANAGER, person=boss),
        admin=make_user(Permission.ADMIN, person=make_person("Ada", "Admin")),
        outsider=make_user(Permission.LEARNER, person=outsider),
        colleague=make_user(Permission.LEARNER, person=colleague),
        learner_id=learner.id,
        manager_id=boss.id,
        outsider_id=outsider.id,
        colleague_id=colleague.id,
    )
    session.commit()
    return scene


def rate_myself(
    client, code: str = CODE, level: int = 3, note: str = "Ran the budget.", link: str = ""
) -> object:
    token = csrf_for(client, "/capability")
    return client.post(
        "/capability/self-rating",
        data={
            "csrf_token": token,
            "competency": code,
            "level": str(level),
            "note": note,
            "link": link,
        },
    )


def pending_rating(person_id: int, code: str = CODE) -> Evidence:
    return db.session.scalars(
        select(Evidence)
        .where(
            Evidence.person_id == person_id,
            Evidence.competency_code == code,
            Evidence.source == Source.SELF_RATING,
        )
        .order_by(Evidence.id.desc())
    ).first()


def post_decision(client, evidence_id: int, **data):
    token = csrf_for(client, "/validations")
    return client.post(f"/validations/{evidence_id}", data={"csrf_token": token, **data})


# --- self-rating ------------------------------------------------------------------------------


def test_learner_rates_themselves_and_the_rating_waits_as_pending(client, login, scene):
    login(scene.learner)
    page = client.get("/capability")
    assert page.status_code == 200
    assert "My capability" in page.text
    before = table_row(page.text, "R04", CODE)
    assert (before.required, before.validated, before.gap) == (3, 0, "3 short")

    response = rate_myself(client, level=3, link="https://intranet.example/budget")

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/capability")
    rating = pending_rating(scene.learner_id)
    assert (rating.level, rating.status, rating.validated) == (3, RatingStatus.PENDING, False)
    assert rating.link == "https://intranet.example/budget"
    assert rating.recorded_by_id == scene.learner.id
    page = client.get("/capability")
    assert "your rating is with your manager" in page.text
    after = table_row(page.text, "R04", CODE)
    assert after.self_cell == "3 · pending"
    assert (after.validated, after.gap) == (0, "3 short")  # never counted as validated


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"competency": ""}, "competency", "Choose a competency."),
        ({"competency": "NOPE-99"}, "competency", "Not a valid choice."),
        (
            {"link": "javascript:alert(1)"},
            "link",
            "Give a web address starting with http:// or https://.",
        ),
        ({"link": "ftp://x"}, "link", "Give a web address starting with http:// or https://."),
        ({"level": "9"}, "level", "Not a valid choice."),
        ({"level": ""}, "level", "Choose a level."),
        ({"note": "x" * 2001}, "note", "Field cannot be longer than 2000 characters."),
    ],
)
def test_bad_self_rating_comes_back_with_the_message_at_the_field(
    client, login, scene, data, field, message
):
    login(scene.learner)
    before = snapshot()

    response = rate_myself(
        client,
        **{
            k: v
            for k, v in {
                "code": data.get("competency", CODE),
                "level": data.get("level", 3),
                "note": data.get("note", "Ran the budget."),
                "link": data.get("link", ""),
            }.items()
        },
    )

    assert response.status_code == 200
    found = field_errors(response.text)
    assert message in found.errors.get(field, []), dict(found.errors)
    assert field in found.invalid
    assert set(found.errors) == {field}, f"errors at other fields: {dict(found.errors)}"
    assert snapshot() == before, "bad input changed the database"
    # the page around the form is still the learner's capability page, and the form offers
    # the same choices as before the error: the competencies and the named levels
    assert 'data-testid="role-table-R04"' in response.text
    select_level = re.search(r'<select[^>]*name="level".*?</select>', response.text, re.S)
    assert ">3 · Practitioner</option>" in select_level.group(0)
    select_competency = re.search(r'<select[^>]*name="competency".*?</select>', response.text, re.S)
    assert f'<option value="{CODE}">{CODE} Financial' in select_competency.group(
        0
    ) or f'<option selected value="{CODE}">{CODE} Financial' in select_competency.group(0)


# --- validation -------------------------------------------------------------------------------


def test_manager_accepts_a_rating_and_the_learners_gap_closes(client, login, scene):
    login(scene.learner)
    assert rate_myself(client, level=3).status_code == 302
    rating_id = pending_rating(scene.learner_id).id

    login(scene.manager)
    queue = client.get("/validations")
    assert queue.status_code == 200
    assert "Lee Learner" in queue.text
    assert f'action="/validations/{rating_id}"' in queue.text
    assert "Accept level 3" in queue.text
    response = post_decision(client, rating_id, decision="accept")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/validations")
    done = client.get("/validations")
    assert "validated at level 3" in done.text
    assert f'action="/validations/{rating_id}"' not in done.text

    rating = db.session.get(Evidence, rating_id)
    assert rating.status == RatingStatus.ACCEPTED
    decision = db.session.scalars(select(ValidationDecision)).one()
    assert (decision.evidence_id, decision.decided_by_id) == (rating_id, scene.manager.id)
    assert (
        count(
            Evidence,
            Evidence.source == Source.MANAGER_RATING,
            Evidence.person_id == scene.learner_id,
            Evidence.validated.is_(True),
        )
        == 1
    )

    login(scene.learner)
    row = table_row(client.get("/capability").text, "R04", CODE)
    assert (row.validated, row.gap, row.self_cell) == (3, "met", "3")
    # and the manager sees the same on the learner's page
    login(scene.manager)
    theirs = client.get(f"/people/{scene.learner_id}/capability")
    assert table_row(theirs.text, "R04", CODE).gap == "met"


def test_adjust_and_reject_through_the_queue(client, login, scene):
    login(scene.learner)
    rate_myself(client, code="INF-01", level=3)
    rate_myself(client, code="INF-02", level=3)
    adjusted, rejected = (
        pending_rating(scene.learner_id, "INF-01"),
        pending_rating(scene.learner_id, "INF-02"),
    )

    login(scene.manager)
    before = snapshot()
    # adjusting without a reason, or rejecting without one, changes nothing
    refused = post_decision(client, adjusted.id, decision="adjust", level="2", comment="")
    assert refused.status_code == 302
    assert "Say why you rate them differently." in client.get("/validations").text
    post_decision(client, rejected.id, decision="reject", comment="  ")
    assert "Say why you reject the rating." in client.get("/validations").text
    assert snapshot() == before
    # an unknown decision is a bad request
    assert post_decision(client, adjusted.id, decision="maybe").status_code == 400

    assert (
        post_decision(
            client,
            adjusted.id,
            decision="adjust",
            level="2",
            comment="Not on a full programme yet.",
        ).status_code
        == 302
    )
    # rejecting asks first: the confirmation page names the rating and the reason
    asked = post_decision(client, rejected.id, decision="reject", comment="No example given.")
    assert asked.status_code == 200
    assert 'data-testid="confirmation"' in asked.text
    assert "No example given." in asked.text
    assert db.session.get(Evidence, rejected.id).status == RatingStatus.PENDING
    assert (
        client.post(
            f"/validations/{rejected.id}",
            data={
                "csrf_token": csrf_from(asked.text),
                "confirmed": "1",
                "decision": "reject",
                "comment": "No example given.",
            },
        ).status_code
        == 302
    )

    assert db.session.get(Evidence, adjusted.id).status == RatingStatus.ADJUSTED
    assert db.session.get(Evidence, rejected.id).status == RatingStatus.REJECTED
    managers = db.session.scalars(
        select(Evidence).where(Evidence.source == Source.MANAGER_RATING)
    ).all()
    assert [(e.competency_code, e.level) for e in managers] == [("INF-01", 2)]
    login(scene.learner)
    page = client.get("/capability").text
    assert table_row(page, "R04", "INF-01").validated == 2
    assert table_row(page, "R04", "INF-02").validated == 0


def test_manager_gets_404_for_a_rating_outside_their_reach(client, login, scene):
    login(scene.outsider)
    rate_myself(client, level=3)
    outsider_rating = pending_rating(scene.outsider_id).id
    login(scene.manager)
    before = snapshot()

    queue = client.get("/validations")
    assert "Otto Outsider" not in queue.text
    token = csrf_from(queue.text)
    for data in (
        {"decision": "accept"},
        {"decision": "reject", "comment": "No."},
        {"decision": "adjust", "level": "1", "comment": "No."},
    ):
        response = client.post(
            f"/validations/{outsider_rating}", data={"csrf_token": token, **data}
        )
        assert response.status_code == 404
    assert (
        client.post(
            "/validations/999999", data={"csrf_token": token, "decision": "accept"}
        ).status_code
        == 404
    )

    assert snapshot() == before
    assert db.session.get(Evidence, outsider_rating).status == RatingStatus.PENDING


def test_manager_cannot_decide_on_their_own_rating(client, login, scene):
    login(scene.manager)
    rate_myself(client, level=4)
    own = pending_rating(scene.manager_id)
    queue = client.get("/validations")
    assert f'action="/validations/{own.id}"' not in queue.text
    response = client.post(
        f"/validations/{own.id}", data={"csrf_token": csrf_from(queue.text), "decision": "accept"}
    )
    assert response.status_code == 404
    assert db.session.get(Evidence, own.id).status == RatingStatus.PENDING
    assert count(ValidationDecision) == 0


def test_learner_gets_403_on_the_validation_pages(client, login, scene):
    login(scene.colleague)
    rate_myself(client, level=3)
    rating = pending_rating(scene.colleague_id)
    login(scene.learner)
    token = csrf_for(client, "/capability")
    before = snapshot()

    assert client.get("/validations").status_code == 403
    assert (
        client.post(
            f"/validations/{rating.id}", data={"csrf_token": token, "decision": "accept"}
        ).status_code
        == 403
    )
    assert snapshot() == before


def test_the_capability_page_shows_version_2_anchors_notes_and_boundaries(
    client, login, scene, session
):
    version = published_version(session)
    ctl04 = session.scalar(
        select(Competency).where(Competency.version_id == version.id, Competency.code == "CTL-04")
    )
    level_3 = next(lv for lv in version.levels if lv.level == 3)
    login(scene.learner)
    page = client.get("/capability")
    assert page.status_code == 200
    html = page.text
    row = re.search(r'<tr data-competency="CTL-04">.*?</tr>', html, re.S).group(0)
    assert 'data-testid="anchors-CTL-04"' in row
    assert html_escape(ctl04.indicators["4"]) in row  # level 4, new in version 2
    assert html_escape(ctl04.indicators["1"]) in row
    assert html_escape(ctl04.boundary) in row
    assert "not the P3O Practitioner" in level_3.note
    assert html_escape(level_3.note) in html


def test_who_may_open_a_persons_capability_page(client, login, scene):
    login(scene.manager)
    page = client.get(f"/people/{scene.learner_id}/capability")
    assert page.status_code == 200
    assert "Lee Learner — capability" in page.text
    assert 'data-testid="role-table-R04"' in page.text
    assert "Rate yourself" not in page.text  # no self-rating form on someone else's page
    assert client.get(f"/people/{scene.outsider_id}/capability").status_code == 403

    login(scene.learner)
    assert client.get(f"/people/{scene.colleague_id}/capability").status_code == 403
    assert client.get(f"/people/{scene.manager_id}/capability").status_code == 403
    own = client.get(f"/people/{scene.learner_id}/capability")
    assert own.status_code == 302 and own.headers["Location"].endswith("/capability")

    login(scene.admin)
    assert client.get(f"/people/{scene.outsider_id}/capability").status_code == 200


def test_compare_with_a_role_shows_a_third_table(client, login, scene):
    login(scene.learner)
    r02 = db.session.scalar(select(Role).where(Role.code == "R02"))
    page = client.get(f"/capability?compare={r02.id}")
    assert page.status_code == 200
    assert 'data-testid="role-table-R04"' in page.text
    assert 'data-testid="role-table-R02"' in page.text
    assert "(comparison)" in page.text


# --- calibration ------------------------------------------------------------------------------


def test_calibration_flow_through_the_views(client, login, scene):
    login(scene.learner)
    rate_myself(client, level=5, note="I run the finance cycle for the whole portfolio.")
    rating_id = pending_rating(scene.learner_id).id

    login(scene.manager)
    response = post_decision(
        client, rating_id, decision="adjust", level="2", comment="Only on small projects so far."
    )
    assert response.status_code == 302
    queue = client.get("/validations")
    assert "a calibration is open" in queue.text
    assert 'data-testid="calibrations"' in queue.text
    calibration = db.session.scalars(select(Calibration)).one()
    assert (calibration.self_level, calibration.manager_level, calibration.status) == (
        5,
        2,
        CalibrationStatus.OPEN,
    )
    assert f'action="/calibrations/{calibration.id}"' in queue.text
    assert count(Evidence, Evidence.source == Source.MANAGER_RATING) == 0

    login(scene.learner)
    row = table_row(client.get("/capability").text, "R04", CODE)
    assert (row.validated, row.gap) == (0, "3 short")  # unchanged while open

    # the outsider's manager cannot resolve it; a learner is refused; no rationale, no change
    login(scene.learner)
    token = csrf_for(client, "/capability")
    assert (
        client.post(
            f"/calibrations/{calibration.id}",
            data={"csrf_token": token, "level": "3", "rationale": "Me."},
        ).status_code
        == 403
    )
    login(scene.manager)
    before = snapshot()
    token = csrf_for(client, "/validations")
    missing = client.post(
        f"/calibrations/{calibration.id}", data={"csrf_token": token, "level": "3", "rationale": ""}
    )
    assert missing.status_code == 302
    assert "Give the agreed level and the rationale" in client.get("/validations").text
    assert (
        client.post(
            "/calibrations/999999", data={"csrf_token": token, "level": "3", "rationale": "Agreed."}
        ).status_code
        == 404
    )
    assert snapshot() == before

    resolved = client.post(
        f"/calibrations/{calibration.id}",
        data={
            "csrf_token": token,
            "level": "3",
            "rationale": "Agreed after reviewing Q3 forecasts.",
        },
    )
    assert resolved.status_code == 302
    queue = client.get("/validations")
    assert "Calibration resolved: Lee Learner validated at level 3." in queue.text
    assert 'data-testid="calibrations"' not in queue.text
    calibration = db.session.get(Calibration, calibration.id)
    assert (calibration.status, calibration.resolved_level, calibration.resolved_by_id) == (
        CalibrationStatus.RESOLVED,
        3,
        scene.manager.id,
    )
    assert calibration.rationale == "Agreed after reviewing Q3 forecasts."

    login(scene.learner)
    row = table_row(client.get("/capability").text, "R04", CODE)
    assert (row.validated, row.gap) == (3, "met")


def test_a_manager_of_another_unit_cannot_resolve_a_calibration(client, login, scene, session):
    login(scene.learner)
    rate_myself(client, level=5)
    login(scene.manager)
    post_decision(
        client,
        pending_rating(scene.learner_id).id,
        decision="adjust",
        level="1",
        comment="Not yet.",
    )
    calibration_id = db.session.scalar(select(Calibration.id))
    other_unit = make_unit("Elsewhere")
    other_boss = make_person("Olga", "Other", unit=other_unit)
    other_unit.head_id = other_boss.id
    other = make_user(Permission.LEARNER, Permission.MANAGER, person=other_boss)
    session.commit()

    login(other)
    assert 'data-testid="calibrations"' not in client.get("/validations").text
    token = csrf_for(client, "/validations")
    response = client.post(
        f"/calibrations/{calibration_id}",
        data={"csrf_token": token, "level": "3", "rationale": "Agreed."},
    )
    assert response.status_code == 404
    assert db.session.get(Calibration, calibration_id).status == CalibrationStatus.OPEN


# --- query count ------------------------------------------------------------------------------


def _statements(client, count_queries, url: str) -> int:
    db.session.commit()
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200
    return counter.count


def _bulk_evidence(person_id: int, codes: list[str], comp_ids: dict[str, int], n: int) -> None:
    today = date.today()
    rows = []
    waiting: set[str] = set()  # one self-rating per competency may wait (migration 0016)
    for i in range(n):
        code = codes[i % len(codes)]
        self_rating = i % 3 == 0
        status = [RatingStatus.PENDING, RatingStatus.ACCEPTED, RatingStatus.REJECTED][i // 3 % 3]
        if status == RatingStatus.PENDING and (code in waiting or not self_rating):
            status = RatingStatus.ACCEPTED
        if self_rating and status == RatingStatus.PENDING:
            waiting.add(code)
        rows.append(
            dict(
                person_id=person_id,
                competency_id=comp_ids[code],
                competency_code=code,
                source=Source.SELF_RATING
                if self_rating
                else [
                    Source.MODULE_COMPLETION,
                    Source.ASSESSMENT,
                    Source.MANAGER_RATING,
                    Source.EXTERNAL_CERTIFICATE,
                ][i % 4],
                level=i % 6,
                achieved_on=today - timedelta(days=1 + i),
                expires_on=today + timedelta(days=30) if i % 7 == 0 else None,
                validated=not self_rating,
                status=status if self_rating else None,
                note=f"row {i}",
                link=None,
                recorded_by_id=None,
                responds_to_id=None,
            )
        )
    db.session.execute(insert(Evidence), rows)
    db.session.commit()


def test_my_capability_page_query_count_does_not_grow_with_the_data(
    client, login, scene, session, count_queries
):
    version = published_version(session)
    comp_ids = dict(
        session.execute(
            select(Competency.code, Competency.id).where(Competency.version_id == version.id)
        ).all()
    )
    # a small learner: one role of two competencies, two pieces of evidence
    tiny = make_role("T1", "Tiny role")
    for code in ("GOV-01", "CTL-01"):
        session.add(
            RoleRequirement(
                version_id=version.id, role_id=tiny.id, competency_id=comp_ids[code], level=2
            )
        )
    small = make_person("Sam", "Small")
    assign(small, tiny)
    small_user = make_user(Permission.LEARNER, person=small)
    session.commit()
    _bulk_evidence(small.id, ["GOV-01", "CTL-01"], comp_ids, 2)

    # a big learner: two current roles, a target role, 300 rows
    big = make_person("Bea", "Big")
    roles = {r.code: r for r in session.scalars(select(Role))}
    assign(big, roles["R01"])
    assign(big, roles["R04"])
    assign(big, roles["R02"], kind=AssignmentKind.TARGET)
    big_user = make_user(Permission.LEARNER, person=big)
    session.commit()
    _bulk_evidence(big.id, sorted(comp_ids), comp_ids, 300)
    assert count(Evidence, Evidence.person_id == big.id) == 300

    login(small_user)
    client.get("/capability")  # warm up whatever is loaded once per process
    few = _statements(client, count_queries, "/capability")
    login(big_user)
    page = client.get("/capability")
    profile_lines = sum(
        count(
            RoleRequirement,
            RoleRequirement.version_id == version.id,
            RoleRequirement.role_id == roles[code].id,
        )
        for code in ("R01", "R04", "R02")
    )
    assert profile_lines == 80  # v2: R01 29, R04 21, R02 30 lines
    assert page.text.count("<tr data-competency=") == profile_lines
    many = _statements(client, count_queries, "/capability")
    assert many == few, (few, many)
