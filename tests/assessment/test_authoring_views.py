"""The trainer's bank and assessment pages: only trainers reach them; the banks list with
counts, a bank's items filtered, its versions; a draft opened, items added and edited
through the forms (a form per type, structured text areas checked), retired after a
confirmation, the draft published after a review; a stale form refused with a message and
nothing saved; preview as a learner showing no key and no rationale; GIFT export; the
assessment builder (settings, sections, certified levels) checked against the bank."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import func, select

from app.accounts.models import Permission
from app.assessment import authoring
from app.assessment import authoring_queries as queries
from app.assessment.bank_queries import bank_by_code, content_of, published_bank_version
from app.assessment.banks import write_bank_version
from app.assessment.content import Option, Step
from app.assessment.gift import parse_gift
from app.assessment.models import Assessment, BankStatus, BankVersion, ItemVersion
from tests.assessment.test_authoring import every_type, shipped_framework, single, small_bank
from tests.factories import make_user

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
BANKS = "/authoring/banks"
ASSESSMENTS = "/authoring/assessments"


def text_of(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def token(client, url: str = BANKS) -> str:
    page = client.get(url)
    assert page.status_code == 200, url
    match = CSRF.search(page.text)
    assert match, f"no csrf_token on {url}"
    return match.group(1) or match.group(2)


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', html
    )
    assert match, f"no hidden {name}"
    return unescape(match.group(1))


def post(client, url: str, data: dict, page: str = BANKS):
    return client.post(url, data={"csrf_token": token(client, page), **data})


@pytest.fixture
def trainer(app, session):
    shipped_framework(session)
    user = make_user(Permission.TRAINER)
    session.commit()
    return user


@pytest.fixture
def signed_in(client, login, trainer):
    login(trainer)
    return client


@pytest.fixture
def bank(session, trainer):
    write_bank_version(session, small_bank(), actor_id=trainer.id, publish=True)
    session.commit()
    return bank_by_code(session, "TST-BANK")


@pytest.fixture
def draft(session, trainer, bank) -> BankVersion:
    version = authoring.open_draft(session, bank, actor_id=trainer.id)
    session.commit()
    return version


# --- who may reach them ----------------------------------------------------------------------


@pytest.mark.parametrize("permission", [Permission.LEARNER, Permission.MANAGER])
def test_only_trainers_reach_the_authoring_pages(client, login, session, bank, permission):
    login(make_user(permission))
    session.commit()
    for url in (
        BANKS,
        f"{BANKS}/TST-BANK",
        f"{BANKS}/TST-BANK/versions/1/preview",
        f"{BANKS}/TST-BANK/versions/1/items/TST-S-01",
        f"{BANKS}/TST-BANK/versions/1/gift",
        f"{BANKS}/import",
        ASSESSMENTS,
        f"{ASSESSMENTS}/new",
    ):
        assert client.get(url).status_code == 403, url


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(signed_in, session, bank):
    response = signed_in.post(f"{BANKS}/TST-BANK/draft", data={"submit": "Confirm"})
    assert response.status_code == 400
    assert queries.draft_of(session, bank.id) is None


# --- banks -------------------------------------------------------------------------------------


def test_the_banks_list_shows_each_bank_with_its_counts(signed_in, bank):
    page = text_of(signed_in.get(BANKS).text)
    assert "TST-BANK A test bank" in page
    assert "Published v1" in page
    assert "Single choice 6" in page and "Matching 1" in page and "Assertion–reason 1" in page
    assert "A 6" in page and "B 5" in page


def test_a_banks_items_filter_by_topic_competency_and_type(signed_in, bank):
    page = text_of(signed_in.get(f"{BANKS}/TST-BANK").text)
    assert "Showing 11 of 11 items." in page and "Version 1" in page
    assert "Edit (open a draft copy)" in page  # a published version is never edited in place
    page = text_of(signed_in.get(f"{BANKS}/TST-BANK?topic=B").text)
    assert "Showing 5 of 11 items." in page and "TST-S-01" not in page
    page = text_of(signed_in.get(f"{BANKS}/TST-BANK?type=sequencing").text)
    assert "Showing 1 of 11 items." in page and "TST-Q-01" in page
    page = text_of(signed_in.get(f"{BANKS}/TST-BANK?competency=GOV-01").text)
    assert "Showing 6 of 11 items." in page


def test_the_item_page_shows_the_key_and_every_rationale(signed_in, bank):
    page = text_of(signed_in.get(f"{BANKS}/TST-BANK/versions/1/items/TST-X-01").text)
    assert "P1: Risk log R1: Uncertain events Uncertain." in page
    page = text_of(signed_in.get(f"{BANKS}/TST-BANK/versions/1/items/TST-S-01").text)
    assert "Key The right one Because it is right." in page
    assert signed_in.get(f"{BANKS}/TST-BANK/versions/1/items/NOPE").status_code == 404
    assert signed_in.get(f"{BANKS}/TST-BANK/versions/9").status_code == 404


def test_a_new_bank_is_created_as_an_empty_draft(signed_in, session, trainer):
    response = post(
        signed_in,
        f"{BANKS}/new",
        {
            "code": "RISK-BANK",
            "title": "Risk",
            "format": "role",
            "author": "Me",
            "topics": "RSK: Risk logs\nISS: Issue logs",
            "original_work": "y",
        },
        page=f"{BANKS}/new",
    )
    assert response.status_code == 302
    draft = queries.draft_of(session, bank_by_code(session, "RISK-BANK").id)
    assert draft.topics == [["RSK", "Risk logs"], ["ISS", "Issue logs"]]
    bad = post(
        signed_in,
        f"{BANKS}/new",
        {"code": "X2", "title": "T", "format": "role", "author": "Me", "topics": "no colon"},
        page=f"{BANKS}/new",
    )
    assert bad.status_code == 200 and "Line 1: write each topic as CODE: name." in text_of(bad.text)
    assert bank_by_code(session, "X2") is None


# --- the draft ---------------------------------------------------------------------------------


def test_opening_a_draft_makes_a_copy(signed_in, session, bank):
    response = post(signed_in, f"{BANKS}/TST-BANK/draft", {"submit": "Confirm"})
    assert response.status_code == 302
    draft = queries.draft_of(session, bank.id)
    assert draft.number == 2
    page = text_of(signed_in.get(f"{BANKS}/TST-BANK").text)
    assert "Draft version 2" in page and "Add an item" in page


def single_form(**changes) -> dict:
    data = {
        "id": "TST-NEW-01",
        "stem": "Who owns a risk?",
        "topic": "A",
        "competency": "CTL-04",
        "level": "2",
        "tags": "ownership, risk",
        "options-0-text": "The risk owner",
        "options-0-correct": "y",
        "options-0-rationale": "The owner manages it.",
        "options-1-text": "The PMO",
        "options-1-rationale": "The PMO keeps the log; it does not own the risk.",
        "options-2-text": "The sponsor",
        "options-2-rationale": "The sponsor owns the business case.",
        "options-3-text": "The supplier",
        "options-3-rationale": "A supplier may be an owner only when named.",
        "submit": "Save the item",
    }
    data.update(changes)
    return data


def test_an_item_is_added_through_the_form(signed_in, session, draft):
    url = f"{BANKS}/TST-BANK/draft/items/new?type=single"
    page = signed_in.get(url)
    assert 'value="TST-BANK-' in page.text  # a suggested id
    response = post(signed_in, url, single_form(), page=url)
    assert response.status_code == 302, text_of(response.text)
    found = queries.item_in_version(session, draft, "TST-NEW-01")
    assert found.item.options[0].correct and found.item.tags == ("ownership", "risk")
    assert found.item.author == "Test author"


def test_a_broken_item_comes_back_with_each_problem_and_nothing_saved(signed_in, session, draft):
    url = f"{BANKS}/TST-BANK/draft/items/new?type=single"
    response = post(
        signed_in,
        url,
        single_form(**{"options-1-correct": "y", "options-2-rationale": "", "level": "2"}),
        page=url,
    )
    assert response.status_code == 200
    page = text_of(response.text)
    assert "exactly one key" in page and "options[2].rationale: every option needs a rationale" in (
        page
    )
    assert queries.item_in_version(session, draft, "TST-NEW-01") is None


def test_a_matching_item_is_edited_as_structured_text(signed_in, session, draft):
    url = f"{BANKS}/TST-BANK/draft/items/TST-X-01/edit"
    page = signed_in.get(url)
    assert "P1: Risk log" in unescape(page.text) and "P1 = R1" in unescape(page.text)
    version_id = hidden(page.text, "version_id")
    data = {
        "version_id": version_id,
        "stem": "Match each log to what it records.",
        "topic": "B",
        "competency": "GOV-05",
        "level": "3",
        "premises": "P1: Risk log\nP2: Issue log\nP3: Lessons log",
        "responses": "R1: Uncertain events\nR2: Events that happened\nR3: What we learned\n"
        "R4: Spare",
        "pairs": "P1 = R1\nP2 = R2\nP3 = R3",
        "rationales": "P1: Uncertain.\nP2: Happened.\nP3: Learned.",
        "submit": "Save the item",
    }
    bad = post(signed_in, url, {**data, "pairs": "P1 R1"}, page=url)
    assert "Line 1: write a premise id, =, a response id." in text_of(bad.text)
    unmatched = post(signed_in, url, {**data, "pairs": "P1 = R1\nP2 = R9"}, page=url)
    assert "unmatched premise(s): P3" in text_of(unmatched.text)
    assert "'R9', which is not one of the responses" in text_of(unmatched.text)
    response = post(signed_in, url, data, page=url)
    assert response.status_code == 302
    found = queries.item_in_version(session, draft, "TST-X-01")
    assert found.item.level == 3 and len(found.item.responses) == 4
    # the same form again, read before that save, is refused: nothing is overwritten
    again = post(signed_in, url, {**data, "version_id": version_id, "level": "1"}, page=url)
    assert "TST-X-01 was changed by someone else since you opened it" in text_of(again.text)
    assert queries.item_in_version(session, draft, "TST-X-01").item.level == 3


def test_sequencing_and_assertion_reason_items_are_edited_as_structured_text(
    signed_in, session, draft
):
    url = f"{BANKS}/TST-BANK/draft/items/TST-Q-01/edit"
    page = signed_in.get(url)
    assert "Log the request | First it is recorded." in unescape(page.text)
    data = {
        "version_id": hidden(page.text, "version_id"),
        "stem": "Put the change steps in order.",
        "topic": "B",
        "competency": "GOV-05",
        "level": "2",
        "steps": "Log | First.\nAssess | Then.\nDecide | Then.",
        "submit": "Save the item",
    }
    response = post(signed_in, url, data, page=url)
    assert "3 steps; give 4 to 6" in text_of(response.text)
    response = post(signed_in, url, {**data, "steps": data["steps"] + "\nDo it"}, page=url)
    assert "Line 4: write the step, a |, then its rationale." in text_of(response.text)
    response = post(signed_in, url, {**data, "steps": data["steps"] + "\nDo | Last."}, page=url)
    assert response.status_code == 302
    item = queries.item_in_version(session, draft, "TST-Q-01").item
    assert [s.text for s in item.steps] == ["Log", "Assess", "Decide", "Do"]

    url = f"{BANKS}/TST-BANK/draft/items/TST-R-01/edit"
    page = signed_in.get(url)
    data = {
        "version_id": hidden(page.text, "version_id"),
        "assertion": "A PMO keeps the risk log.",
        "reason": "Risks need an owner.",
        "answer": "C",
        "topic": "B",
        "competency": "GOV-05",
        "level": "2",
        "rationales": "A: a\nB: b\nC: c\nD: d",
        "submit": "Save the item",
    }
    assert "rationales missing for option(s): E" in text_of(
        post(signed_in, url, data, page=url).text
    )
    data["rationales"] += "\nF: f"
    assert "F is not one of A, B, C, D, E." in text_of(post(signed_in, url, data, page=url).text)
    data["rationales"] = "A: a\nB: b\nC: c\nD: d\nE: e"
    assert post(signed_in, url, data, page=url).status_code == 302
    assert queries.item_in_version(session, draft, "TST-R-01").item.answer == "C"


def test_retiring_asks_first_then_takes_the_item_out_of_the_draft(signed_in, session, draft):
    page = signed_in.get(f"{BANKS}/TST-BANK/versions/2/items/TST-M-01")
    version_id = hidden(page.text, "version_id")
    url = f"{BANKS}/TST-BANK/draft/items/TST-M-01/retire"
    ask = post(signed_in, url, {"version_id": version_id})
    assert ask.status_code == 200 and "Retire item TST-M-01?" in text_of(ask.text)
    assert queries.item_in_version(session, draft, "TST-M-01") is not None
    done = post(signed_in, url, {"version_id": version_id, "confirmed": "1"})
    assert done.status_code == 302
    assert queries.item_in_version(session, draft, "TST-M-01") is None
    assert queries.item_in_version(
        session, published_bank_version(session, draft.bank_id), "TST-M-01"
    )


def test_publish_shows_what_blocks_it_then_publishes_the_reviewed_draft(
    signed_in, session, trainer, draft
):
    bank = bank_by_code(session, "TST-BANK")
    authoring.update_draft_details(
        session,
        bank,
        expected_hash=draft.content_hash,
        title="Revised",
        author="Test author",
        original_work=False,
        topics=(("A", "Topic A"), ("B", "Topic B")),
        actor_id=trainer.id,
    )
    session.commit()
    review = text_of(signed_in.get(f"{BANKS}/TST-BANK/draft/publish").text)
    assert "It cannot be published yet" in review and "original_work" in review
    details = signed_in.get(f"{BANKS}/TST-BANK/draft/details")
    seen = hidden(details.text, "draft_hash")
    response = post(
        signed_in,
        f"{BANKS}/TST-BANK/draft/details",
        {
            "title": "Revised",
            "author": "Test author",
            "original_work": "y",
            "topics": "A: Topic A\nB: Topic B",
            "draft_hash": seen,
        },
    )
    assert response.status_code == 302
    page = signed_in.get(f"{BANKS}/TST-BANK/draft/publish")
    assert "Publish version 2" in text_of(page.text)
    reviewed = hidden(page.text, "draft_hash")
    # a stale details form (read before that save) is refused
    stale = post(
        signed_in,
        f"{BANKS}/TST-BANK/draft/details",
        {"title": "Other", "author": "x", "topics": "A: a\nB: b", "draft_hash": seen},
    )
    assert "changed by someone else" in text_of(stale.text)
    response = post(signed_in, f"{BANKS}/TST-BANK/draft/publish", {"draft_hash": reviewed})
    assert response.status_code == 302
    versions = [(v.number, v.status) for v in queries.versions_of(session, bank.id)]
    assert versions == [(1, BankStatus.RETIRED), (2, BankStatus.PUBLISHED)]
    page = text_of(signed_in.get(f"{BANKS}/TST-BANK").text)
    assert "Edit (open a draft copy)" in page and "Add an item" not in page


# --- preview and export ------------------------------------------------------------------------

MARKERS = ("RATIONALE-MARKER", "FEEDBACK-MARKER", "NOTES-MARKER")


def test_the_learner_preview_shows_no_key_and_no_rationale(signed_in, session, trainer):
    marked = []
    for item in (single("MRK-S-01"), *every_type("MRK")):
        options = tuple(
            Option(o.text, f"{o.rationale} RATIONALE-MARKER", o.correct) for o in item.options
        )
        steps = tuple(Step(s.text, f"{s.rationale} RATIONALE-MARKER") for s in item.steps)
        rationales = tuple((k, f"{v} RATIONALE-MARKER") for k, v in item.rationales)
        marked.append(
            item.__class__(
                **{
                    **item.__dict__,
                    "options": options,
                    "steps": steps,
                    "rationales": rationales,
                    "rationale_true": item.rationale_true and "RATIONALE-MARKER true",
                    "rationale_false": item.rationale_false and "RATIONALE-MARKER false",
                    "feedback": "FEEDBACK-MARKER",
                    "notes": "NOTES-MARKER",
                }
            )
        )
    content = small_bank("MRK-BANK", items=tuple(marked))
    write_bank_version(session, content, actor_id=trainer.id, publish=True)
    session.commit()
    trainer_view = signed_in.get(f"{BANKS}/MRK-BANK/versions/1/items/MRK-S-01").text
    assert all(m in trainer_view for m in MARKERS)  # the trainer's own view shows them
    pages = [signed_in.get(f"{BANKS}/MRK-BANK/versions/1/preview").text]
    pages += [
        signed_in.get(f"{BANKS}/MRK-BANK/versions/1/items/{i.id}/preview").text for i in marked
    ]
    for html in pages:
        assert not any(m in html for m in MARKERS)
        assert "badge text-bg-success" not in html and "checked" not in html
    whole = text_of(pages[0])
    assert "Which statement about MRK-S-01 is right?" in whole
    assert "Put the change steps in order." in whole
    # the steps of a sequencing item are never shown in the key's order
    steps = [s.text for s in every_type("MRK")[3].steps]
    shown = [t for t in re.findall(r"for=\"p\d+-\d+\">([^<]+)</label>", pages[0]) if t in steps]
    assert sorted(shown) == sorted(steps) and shown != steps


def test_any_version_exports_as_gift_and_reads_back_the_same(signed_in, session, bank):
    response = signed_in.get(f"{BANKS}/TST-BANK/versions/1/gift")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="tst-bank-v1.gift"'
    back = parse_gift(response.data).bank_content()
    assert back == content_of(session, published_bank_version(session, bank.id))


# --- the assessment builder --------------------------------------------------------------------


def test_an_assessment_is_built_through_the_forms(signed_in, session, bank):
    response = post(
        signed_in, f"{ASSESSMENTS}/new", {"code": "TST-CHECK", "title": "A check"}, ASSESSMENTS
    )
    assert response.status_code == 302
    url = f"{ASSESSMENTS}/TST-CHECK"
    page = text_of(signed_in.get(url).text)
    assert "No section yet" in page and "Draft" in page

    form = f"{url}/sections/new"
    row_version = hidden(signed_in.get(form).text, "row_version")
    data = {"bank": "TST-BANK", "unit": "item", "count": "7", "unscored": "0", "topics": "a"}
    too_many = post(signed_in, form, {**data, "row_version": row_version}, page=form)
    assert too_many.status_code == 200
    assert "holds 6 items admitted by topic A" in text_of(too_many.text)
    assert session.scalar(select(func.count()).select_from(Assessment)) == 1
    response = post(signed_in, form, {**data, "count": "6", "row_version": row_version}, form)
    assert response.status_code == 302
    page = text_of(signed_in.get(url).text)
    assert "6 item(s) from TST-BANK" in page and "topics A" in page

    certify = {"competency": "GOV-05", "level": "2"}
    version = hidden(signed_in.get(url).text, "row_version")
    response = post(signed_in, f"{url}/certifies", {**certify, "row_version": version}, url)
    page = text_of(signed_in.get(url).text)
    assert "no form can certify GOV-05" in page
    response = post(
        signed_in,
        f"{url}/certifies",
        {"competency": "GOV-01", "level": "2", "row_version": version},
        url,
    )
    page = text_of(signed_in.get(url).text)
    assert "GOV-01 2 6 to 6" in page

    settings = f"{url}/settings"
    seen = hidden(signed_in.get(settings).text, "row_version")
    values = {
        "title": "A check",
        "summary": "",
        "status": "published",
        "module": "",
        "pass_percent": "60",
        "time_limit_minutes": "20",
        "grace_seconds": "60",
        "attempt_limit": "",
        "wait_minutes": "0",
        "shuffle_items": "y",
        "feedback": "after_submission",
        "opens_at": "2025-09-01T09:00",
        "closes_at": "",
        "row_version": seen,
    }
    assert post(signed_in, settings, values, settings).status_code == 302
    a = queries.assessment_by_code(session, "TST-CHECK")
    assert (a.status.value, a.pass_percent, a.attempt_limit, a.shuffle_options) == (
        "published",
        60,
        None,
        False,
    )
    assert a.opens_at.isoformat() == "2025-09-01T09:00:00+00:00"
    stale = post(signed_in, settings, {**values, "pass_percent": "40"}, settings)
    assert "TST-CHECK was changed by someone else since you opened it" in text_of(stale.text)
    session.expire_all()
    assert queries.assessment_by_code(session, "TST-CHECK").pass_percent == 60
    listed = text_of(signed_in.get(ASSESSMENTS).text)
    assert "TST-CHECK A check" in listed and "GOV-01 2" in listed


def test_a_section_and_a_certification_are_removed(signed_in, session, trainer, bank):
    from datetime import UTC, datetime

    from app.assessment.definition import SectionDefinition

    now = datetime(2025, 6, 2, tzinfo=UTC)
    a = authoring.create_assessment(session, code="TST-D", title="D", actor_id=trainer.id, now=now)
    authoring.save_section(
        session,
        a,
        SectionDefinition("TST-BANK", 6, topics=("A",)),
        position=None,
        expected_version=a.row_version,
        now=now,
    )
    authoring.save_certification(session, a, "GOV-01", 2, expected_version=a.row_version, now=now)
    session.commit()
    url = f"{ASSESSMENTS}/TST-D"
    version = hidden(signed_in.get(url).text, "row_version")
    removed = post(signed_in, f"{url}/certifies/GOV-01/remove", {"row_version": version}, url)
    assert removed.status_code == 302
    stale = post(signed_in, f"{url}/sections/1/remove", {"row_version": version}, url)
    assert stale.status_code == 302
    assert "changed by someone else" in text_of(signed_in.get(url).text)
    version = hidden(signed_in.get(url).text, "row_version")
    removed = post(signed_in, f"{url}/sections/1/remove", {"row_version": version}, url)
    assert removed.status_code == 302
    session.expire_all()
    d = queries.definition_of(queries.assessment_by_code(session, "TST-D"))
    assert d.sections == () and d.certifies == ()
    assert session.scalar(select(func.count()).select_from(ItemVersion)) == 11


def test_an_edit_keeps_the_items_own_author(signed_in, session, trainer):
    content = small_bank("AUT-BANK")
    items = (single("AUT-S-01", author="Jane Doe"), *content.items[1:])
    write_bank_version(session, small_bank("AUT-BANK", items=items), publish=True)
    bank = bank_by_code(session, "AUT-BANK")
    draft = authoring.open_draft(session, bank, actor_id=trainer.id)
    session.commit()
    url = f"{BANKS}/AUT-BANK/draft/items/AUT-S-01/edit"
    page = signed_in.get(url)
    data = single_form(version_id=hidden(page.text, "version_id"), competency="GOV-01")
    del data["id"], data["tags"]
    assert post(signed_in, url, data, page=url).status_code == 302
    item = queries.item_in_version(session, draft, "AUT-S-01").item
    assert (item.stem, item.author) == ("Who owns a risk?", "Jane Doe")
