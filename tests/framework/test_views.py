"""Framework pages: everyone reads the published framework; a trainer drafts, edits,
publishes and compares through the views; nobody else reaches the authoring routes; bad
input comes back with the message at its field and saves nothing."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.accounts.models import Permission
from app.content.framework_load import load_framework
from app.extensions import db
from app.framework import queries as framework_queries
from app.framework import services as authoring
from app.framework.models import Competency, FrameworkVersion, VersionStatus
from app.framework.versions import content_of, published_version
from app.org.models import Role
from tests.factories import make_user
from tests.shipped import load_shipped_content

CURRICULA = Path(__file__).resolve().parents[2] / "curricula"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
REQUIRED = "This field is required."


@pytest.fixture
def shipped(app) -> FrameworkVersion:
    load_shipped_content(db.session)
    db.session.commit()
    return published_version(db.session, "PMO-CF")


@pytest.fixture
def trainer(app):
    return make_user(Permission.TRAINER)


@pytest.fixture
def draft(shipped, trainer) -> FrameworkVersion:
    version = authoring.create_draft(db.session, actor_id=trainer.id)
    db.session.commit()
    return version


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no csrf_token on the page"
    return match.group(1) or match.group(2)


def form_post(client, url: str, data: dict, page_url: str | None = None):
    """GET the page the form is on, then POST ``data`` with its CSRF token."""
    page = client.get(page_url or url)
    assert page.status_code == 200, page_url or url
    return client.post(url, data={"csrf_token": csrf_of(page.text), **data})


def text_of(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def field_error(html: str, field_id: str) -> str | None:
    """The invalid-feedback text right after the input/select/textarea with ``field_id``,
    provided that control is marked is-invalid."""
    control = re.search(rf'<(input|select|textarea)\b[^>]*\bid="{re.escape(field_id)}"[^>]*>', html)
    assert control, f"no control {field_id}"
    if "is-invalid" not in control.group(0):
        return None
    feedback = re.compile(r'<div class="invalid-feedback[^"]*"[^>]*>(.*?)</div>', re.S)
    found = feedback.search(html, control.end())
    return text_of(found.group(1)).strip() if found else None


def draft_json(version: FrameworkVersion) -> dict:
    db.session.expire_all()
    return content_of(db.session, version).as_json()


def profile_data(version: FrameworkVersion, role_code: str, **changes) -> dict:
    """The profile form as it is for ``role_code``, with ``changes`` {code: (level, essential)}."""
    content = content_of(db.session, version)
    lines = {**content.profiles.get(role_code, {}), **changes}
    data = {}
    for code in content.competency_codes():
        level, essential = lines.get(code, (0, False))
        data[f"level_{code}"] = str(level)
        if essential:
            data[f"essential_{code}"] = "y"
    return data


def role_id(code: str) -> int:
    return db.session.scalar(select(Role.id).where(Role.code == code))


# --- reading -----------------------------------------------------------------------------------


def test_everyone_signed_in_reads_the_published_framework(client, login, shipped):
    login(make_user(Permission.LEARNER))
    page = client.get("/framework")
    assert page.status_code == 200
    html = page.text
    assert 'data-testid="profile-matrix"' in html and "table-responsive" in html
    body = text_of(html)
    assert "version 1" in body
    assert "Strategic alignment & prioritisation" in body  # a competency, with its text:
    assert "Traces each proposed and running initiative" in body
    assert "Records how an initiative links to strategic objectives" in body  # an indicator
    assert "Practitioner" in body and "Assessment passed" in body  # scale and caps
    assert 'data-testid="scale-note-3"' in html and "not the P3O Practitioner" in body
    assert 'data-testid="boundary-STR-04"' in html
    assert "Allocating named people" in body  # STR-04's boundary with FIN-02
    # R01 needs GOV-01 at 5, essential: marked by a star and words, not by colour alone.
    row = re.search(r'<th scope="row"[^>]*>\s*<span[^>]*>GOV-01</span>.*?</tr>', html, re.S)
    assert row and '<strong>5<span aria-hidden="true">★</span></strong>' in row.group(0)
    assert "Legend: 3★ essential at level 3" in body
    # No authoring for learners.
    assert "Start a draft" not in body and "/framework/versions" not in html
    nav = client.get("/").text
    assert 'href="/framework"' in nav


def test_a_trainer_sees_versions_and_can_start_a_draft(client, login, shipped, trainer):
    login(trainer)
    body = text_of(client.get("/framework").text)
    assert "Start a draft" in body and "Published · current" in body
    assert "loaded from framework.yaml" in body


def test_without_a_published_framework_the_page_says_so(client, login, trainer):
    login(trainer)
    page = client.get("/framework")
    assert page.status_code == 200
    assert "No competency framework is published yet" in page.text
    assert "Start a draft" not in page.text


# --- the trainer's walk through -----------------------------------------------------------------


def test_trainer_drafts_edits_a_competency_and_a_profile_then_publishes(
    client, login, shipped, trainer
):
    login(trainer)
    response = form_post(client, "/framework/draft", {}, page_url="/framework")
    assert response.status_code == 302 and response.headers["Location"] == "/framework/draft"
    draft = authoring.current_draft(db.session)
    assert draft.number == 2 and draft.created_by_id == trainer.id
    page = client.get("/framework/draft")
    assert "Draft version 2" in page.text
    assert "No changes yet" in text_of(page.text)

    url = "/framework/draft/competencies/GOV-01"
    form = client.get(url)
    assert form.status_code == 200 and 'value="GOV"' in form.text
    response = form_post(
        client,
        url,
        {
            "group": "GOV",
            "name": "Governance design and upkeep",
            "description": "Designs the decision bodies and keeps them working.",
            "indicator_4": "Advises the board on its own structure.",
            "boundary": "Designing the bodies is here; running reviews is GOV-02.",
        },
    )
    assert response.status_code == 302
    gov01 = framework_queries.find_competency(db.session, draft, "GOV-01")
    assert gov01.name == "Governance design and upkeep"
    assert gov01.indicators["4"] == "Advises the board on its own structure."
    assert set(gov01.indicators) == {"1", "2", "3", "4", "5"}  # the others kept
    assert gov01.boundary == "Designing the bodies is here; running reviews is GOV-02."
    assert framework_queries.find_competency(db.session, shipped, "GOV-01").name != gov01.name

    r07 = role_id("R07")
    url = f"/framework/draft/profiles/{r07}"
    editor = client.get(url)
    assert editor.status_code == 200 and 'data-testid="profile-editor"' in editor.text
    response = form_post(
        client,
        url,
        profile_data(
            draft, "R07", **{"STR-04": (2, True), "PPL-01": (4, False), "INF-04": (0, False)}
        ),
    )
    assert response.status_code == 302
    profile = content_of(db.session, draft).profiles["R07"]
    assert profile["STR-04"] == (2, True) and profile["PPL-01"] == (4, False)
    assert "INF-04" not in profile

    changes = client.get("/framework/diff")
    assert changes.status_code == 200
    body = text_of(changes.text)
    assert "From v1 (published) to v2 (draft)" in body
    assert "Governance design and upkeep" in body and "indicator 4" in body
    assert "R07" in body and "STR-04" in body

    response = form_post(
        client,
        "/framework/draft/publish",
        {"note": "GOV-01 reworded; R07 needs capacity planning.", "confirmed": "1"},
        page_url="/framework/draft",
    )
    assert response.status_code == 302 and response.headers["Location"] == "/framework"
    db.session.expire_all()
    assert shipped.status == VersionStatus.RETIRED
    assert draft.status == VersionStatus.PUBLISHED and draft.published_by_id == trainer.id
    page = text_of(client.get("/framework").text)
    assert "version 2" in page and "Governance design and upkeep" in page
    assert "GOV-01 reworded; R07 needs capacity planning." in page  # in the versions list
    assert "Start a draft" in page


def test_trainer_adds_and_removes_competencies_edits_the_scale_and_discards(
    client, login, draft, trainer
):
    login(trainer)
    response = form_post(
        client,
        "/framework/draft/competencies/new",
        {
            "code": "gov-06",
            "group": "GOV",
            "name": "Assurance reviews",
            "description": "Plans and runs independent reviews.",
            "indicator_3": "Leads one.",
        },
    )
    assert response.status_code == 302
    assert framework_queries.find_competency(db.session, draft, "GOV-06").indicators == {
        "3": "Leads one."
    }
    assert "New in draft" in client.get("/framework/draft").text

    edit_page = "/framework/draft/competencies/GOV-02"
    assert "Required by" in client.get(edit_page).text
    refused = form_post(
        client, "/framework/draft/competencies/GOV-02/remove", {}, page_url=edit_page
    )
    assert refused.status_code == 302
    assert framework_queries.find_competency(db.session, draft, "GOV-02") is not None
    assert "role profile(s)" in text_of(client.get(edit_page).text)  # the flashed reason
    removed = form_post(
        client,
        "/framework/draft/competencies/GOV-02/remove",
        {"with_requirements": "y", "confirmed": "1"},
        page_url=edit_page,
    )
    assert removed.status_code == 302
    assert framework_queries.find_competency(db.session, draft, "GOV-02") is None

    scale = content_of(db.session, draft)
    data = {f"name_{s['level']}": s["name"] for s in scale.scale}
    data |= {f"descriptor_{s['level']}": s["descriptor"] for s in scale.scale}
    data |= {f"cap_{k}": str(v) for k, v in scale.caps.items()}
    data |= {f"note_{s['level']}": s["note"] for s in scale.scale}
    data |= {"name_5": "Master", "cap_assessment": "2", "note_3": "Not a qualification."}
    assert form_post(client, "/framework/draft/scale", data).status_code == 302
    after = content_of(db.session, draft)
    assert after.scale[5]["name"] == "Master" and after.caps["assessment"] == 2
    assert after.scale[3]["note"] == "Not a qualification."
    assert after.scale[4]["note"] == scale.scale[4]["note"] != ""

    response = form_post(client, "/framework/draft/discard", {}, page_url="/framework/draft")
    assert response.status_code == 302
    assert authoring.current_draft(db.session) is None
    assert db.session.scalar(select(func.count()).select_from(FrameworkVersion)) == 1


def test_draft_pages_without_a_draft_send_the_trainer_back(client, login, shipped, trainer):
    login(trainer)
    for url in (
        "/framework/draft",
        "/framework/draft/scale",
        "/framework/draft/competencies/GOV-01",
        "/framework/draft/competencies/new",
        f"/framework/draft/profiles/{role_id('R01')}",
    ):
        response = client.get(url)
        assert (response.status_code, response.headers.get("Location")) == (302, "/framework")
    assert "No draft is open" in client.get("/framework").text


def test_unknown_competency_role_or_version_is_404(client, login, draft, trainer):
    login(trainer)
    assert client.get("/framework/draft/competencies/NOPE-1").status_code == 404
    assert client.get("/framework/draft/profiles/999999").status_code == 404
    assert client.get("/framework/diff?from=1&to=99").status_code == 404
    assert client.get("/framework/diff?from=1&to=2").status_code == 200


# --- who may ------------------------------------------------------------------------------------


def trainer_routes(app) -> list[tuple[str, str, str]]:
    """(method, url, endpoint) for every framework route but the public browse page."""
    values = {"code": "GOV-01", "role_id": None}
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("framework.") or rule.endpoint == "framework.browse":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            args = {k: values[k] or role_id("R01") for k in rule.arguments}
            if rule.endpoint.startswith("framework.certificate_"):
                args["code"] = "P3O-F"
            out.append((method, rule.build(args, append_unknown=False)[1], rule.endpoint))
    return out


@pytest.mark.parametrize("permission", [Permission.LEARNER, Permission.MANAGER, Permission.ADMIN])
def test_non_trainers_get_403_on_every_authoring_route(app, client, login, draft, permission):
    login(make_user(permission))
    before = draft_json(draft)
    csrf = csrf_of(client.get("/framework").text)  # the log-out form carries one
    routes = trainer_routes(app)
    assert {e for _, _, e in routes} >= {
        "framework.versions",
        "framework.draft",
        "framework.draft_create",
        "framework.competency_edit",
        "framework.competency_new",
        "framework.competency_remove",
        "framework.scale",
        "framework.profile",
        "framework.draft_publish",
        "framework.draft_discard",
        "framework.diff",
    }
    for method, url, _ in routes:
        response = client.open(
            url,
            method=method,
            data={"csrf_token": csrf, "note": "x", "name": "x", "with_requirements": "y"},
        )
        assert response.status_code == 403, f"{method} {url}"
    assert authoring.current_draft(db.session).id == draft.id
    assert draft_json(draft) == before


def test_a_trainer_reaches_every_authoring_route(app, client, login, draft, trainer):
    """Control for the test above: the same requests, as a trainer, are not refused."""
    login(trainer)
    for method, url, _ in trainer_routes(app):
        if method == "GET":
            assert client.get(url).status_code == 200, url


# --- bad input ----------------------------------------------------------------------------------


def test_competency_form_errors_show_at_the_field_and_save_nothing(client, login, draft, trainer):
    login(trainer)
    before = draft_json(draft)
    url = "/framework/draft/competencies/GOV-01"
    good = {"group": "GOV", "name": "Fine", "description": "Fine."}

    page = form_post(client, url, {**good, "name": ""})
    assert page.status_code == 200 and field_error(page.text, "name") == REQUIRED
    assert field_error(page.text, "description") is None
    page = form_post(client, url, {**good, "group": "NOPE"})
    assert page.status_code == 200 and field_error(page.text, "group") == "Not a valid choice."

    new = "/framework/draft/competencies/new"
    page = form_post(client, new, {**good, "code": "GOV-01"})
    assert page.status_code == 200
    assert field_error(page.text, "code") == (
        "GOV-01 is already used in this version; choose another code."
    )
    page = form_post(client, new, {**good, "code": "GOV 6"})
    assert field_error(page.text, "code").startswith("Use capitals and digits")
    assert draft_json(draft) == before


def test_profile_errors_show_at_the_line_and_save_no_line(client, login, draft, trainer):
    login(trainer)
    before = draft_json(draft)
    url = f"/framework/draft/profiles/{role_id('R07')}"

    # A valid change (PPL-01) posted with a broken line (STR-04 essential at level 0).
    data = profile_data(draft, "R07", **{"PPL-01": (1, False)})
    data["essential_STR-04"] = "y"
    page = form_post(client, url, data)
    assert page.status_code == 200
    assert field_error(page.text, "level_STR-04") == (
        "Essential needs a level: choose 1 to 5, or untick essential."
    )
    assert field_error(page.text, "level_PPL-01") is None
    assert "Nothing was saved" in page.text
    assert draft_json(draft) == before

    page = form_post(client, url, {**profile_data(draft, "R07"), "level_GOV-02": "9"})
    assert page.status_code == 200
    assert field_error(page.text, "level_GOV-02") == "Not a valid choice."
    assert draft_json(draft) == before


def test_scale_and_publish_errors_save_nothing(client, login, draft, trainer):
    login(trainer)
    before = draft_json(draft)
    content = content_of(db.session, draft)
    data = {f"name_{s['level']}": s["name"] for s in content.scale}
    data |= {f"descriptor_{s['level']}": s["descriptor"] for s in content.scale}
    data |= {f"cap_{k}": str(v) for k, v in content.caps.items()}

    page = form_post(
        client, "/framework/draft/scale", {**data, "name_4": "Senior", "descriptor_2": " "}
    )
    assert page.status_code == 200 and field_error(page.text, "descriptor_2") == REQUIRED
    page = form_post(
        client, "/framework/draft/scale", {**data, "name_4": "Senior", "cap_assessment": "7"}
    )
    assert field_error(page.text, "cap_assessment") == "Not a valid choice."
    assert draft_json(draft) == before

    page = form_post(client, "/framework/draft/publish", {"note": ""}, page_url="/framework/draft")
    assert page.status_code == 200 and field_error(page.text, "note") == "Say what changed and why."
    page = form_post(
        client,
        "/framework/draft/publish",
        {"note": "No change really.", "confirmed": "1"},
        page_url="/framework/draft",
    )
    assert page.status_code == 200
    assert field_error(page.text, "note").startswith("The draft is the same as the published")
    db.session.expire_all()
    assert draft.status == VersionStatus.DRAFT
    assert draft_json(draft) == before
    assert (
        db.session.scalar(
            select(func.count(Competency.id)).where(Competency.version_id == draft.id)
        )
        == 30
    )


def test_the_diff_page_shows_certificate_changes(client, login, shipped, tmp_path):
    catalogue = (CURRICULA / "certificates.yaml").read_text()
    changed = tmp_path / "certificates.yaml"
    changed.write_text(catalogue.replace("name: P3O Foundation", "name: P3O Foundation (2026)"))
    report = load_framework(
        db.session,
        CURRICULA / "framework.yaml",
        CURRICULA / "role-profiles.yaml",
        certificates_path=changed,
    )
    db.session.commit()
    assert report.outcome == "new-version"
    login(make_user(Permission.TRAINER))
    page = client.get("/framework/diff?from=1&to=2")
    assert page.status_code == 200 and 'data-testid="diff-certificates"' in page.text
    body = text_of(page.text)
    assert "P3O-F P3O Foundation (2026)" in body
    assert "name: P3O Foundation → P3O Foundation (2026)" in body


def test_free_text_limits_are_stated_and_enforced(client, login, shipped, trainer):
    """A competency's description and indicators have limits the form states; text over
    them is refused at its field and nothing is saved."""
    login(trainer)
    form_post(client, "/framework/draft", {}, page_url="/framework")
    draft = authoring.current_draft(db.session)
    url = "/framework/draft/competencies/GOV-01"
    page = client.get(url).text
    assert "Up to 2,000 characters." in page and "Up to 1,000 characters." in page
    response = form_post(
        client,
        url,
        {
            "group": "GOV",
            "name": "Governance",
            "description": "x" * 2001,
            "indicator_4": "y" * 1001,
        },
    )
    assert response.status_code == 200
    assert "Field cannot be longer than 2000 characters." in response.text
    assert "Field cannot be longer than 1000 characters." in response.text
    assert framework_queries.find_competency(db.session, draft, "GOV-01").name != "Governance"
