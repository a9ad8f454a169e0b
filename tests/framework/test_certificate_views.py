# ruff: noqa: F811
"""The trainer's certificate screens, and the confirmations before removing a competency and
before publishing (with the impact on people's requirements)."""

from __future__ import annotations

from app.extensions import db
from app.framework.models import VersionStatus
from app.framework.versions import content_of
from tests.framework.test_views import (  # noqa: F401
    draft,
    field_error,
    form_post,
    shipped,
    text_of,
    trainer,
)


def levels(version, **chosen) -> dict:
    """Every competency's level select, as a browser submits the form (0 unless chosen)."""
    return {
        f"level_{code}": str(chosen.get(code.replace("-", "_"), 0))
        for code in content_of(db.session, version).competency_codes()
    }


def test_trainer_adds_edits_and_removes_a_certificate(client, login, draft, trainer):
    login(trainer)
    page = client.get("/framework/draft")
    assert 'id="certificates"' in page.text and "P3O-F" in page.text
    url = "/framework/draft/certificates/new"
    base = {"code": "X-1", "name": "X", "issuer": "Y", "max_level": "2"}
    bad = form_post(client, url, {**base, **levels(draft, GOV_01=3)})
    assert bad.status_code == 200
    assert "above the certificate" in field_error(bad.text, "level_GOV-01")
    done = form_post(client, url, {**base, **levels(draft, GOV_01=2)})
    assert done.status_code == 302
    codes = {c["code"]: c for c in content_of(db.session, draft).certificates}
    assert codes["X-1"]["evidences"] == {"GOV-01": 2}
    edit = "/framework/draft/certificates/X-1"
    saved = form_post(client, edit, {**base, "issuer": "Z", **levels(draft, GOV_02=1)})
    assert saved.status_code == 302
    codes = {c["code"]: c for c in content_of(db.session, draft).certificates}
    assert codes["X-1"]["issuer"] == "Z" and codes["X-1"]["evidences"] == {"GOV-02": 1}
    remove = "/framework/draft/certificates/X-1/remove"
    asked = form_post(client, remove, {}, page_url=edit)
    assert 'data-testid="confirmation"' in asked.text
    assert "X-1" in {c["code"] for c in content_of(db.session, draft).certificates}
    gone = form_post(client, remove, {"confirmed": "1"}, page_url=edit)
    assert gone.status_code == 302
    assert "X-1" not in {c["code"] for c in content_of(db.session, draft).certificates}


def test_removing_a_competency_asks_first(client, login, draft, trainer):
    login(trainer)
    edit = "/framework/draft/competencies/INF-04"
    url = edit + "/remove"
    asked = form_post(client, url, {"with_requirements": "y"}, page_url=edit)
    assert 'data-testid="confirmation"' in asked.text and "INF-04" in asked.text
    assert "INF-04" in content_of(db.session, draft).competency_codes()
    done = form_post(client, url, {"with_requirements": "y", "confirmed": "1"}, page_url=edit)
    assert done.status_code == 302
    assert "INF-04" not in content_of(db.session, draft).competency_codes()


def test_publishing_shows_the_impact_then_publishes_on_confirming(client, login, draft, trainer):
    login(trainer)
    url = "/framework/draft/publish"
    asked = form_post(client, url, {"note": "Why it changed."}, page_url="/framework/draft")
    assert 'data-testid="confirmation"' in asked.text
    assert "people with a current role" in text_of(asked.text)
    db.session.refresh(draft)
    assert draft.status == VersionStatus.DRAFT
    # the draft equals the published version, so publishing is refused after confirming
    refused = form_post(
        client, url, {"note": "Why.", "confirmed": "1"}, page_url="/framework/draft"
    )
    assert refused.status_code == 200 and "nothing to publish" in refused.text
