"""The Foundation-format practice test end to end in a real browser, on the demo organisation.

Grace (a Project Capability Lead, who is also the demo trainer) has a gap in GOV-05 that the
practice test certifies. She enrols herself on the P3O Foundation path, opens the practice
test from her assessments page and answers it, the first questions with the keyboard only,
the others by clicking: a planned number right (read from the database of the site against
the item ids the page shows) and the rest wrong. Nothing the browser receives before she
submits holds a rationale, a feedback text or a key. She leaves and resumes with her answers
kept, submits, and sees the exact score, the pass, the breakdowns and the certification
rule; her capability page shows the gap closed by the assessment and her path shows the
practice-test module done. As the trainer she then reads the item statistics of the demo's
attempts. Priya, in a second test, cannot beat the clock.

The walkthrough changes the demo data, so it runs on a site of its own; that site is the
demo as ``flask demo build`` makes it by default (300 people): the shared 80-person site
has too few attempts per item for any item to be flagged.
"""

from __future__ import annotations

import html
import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from flask_migrate import upgrade
from playwright.sync_api import expect
from sqlalchemy import func, select, update
from werkzeug.serving import make_server

from app.assessment.content import item_from_data
from app.assessment.models import Assessment, Attempt, AttemptItem, AttemptStatus, ItemVersion
from app.capability import profile
from app.extensions import db
from app.learning.views.sessions import session_time
from app.org.models import Person
from tests.browser.conftest import (
    SCREENSHOT_DIR,
    TIMEOUT_MS,
    USERS,
    LiveSite,
    _closing,
    _QuietHandler,
    open_browsing,
)
from tests.conftest import make_app

pytestmark = pytest.mark.browser

ASSESSMENT = "P3OF-PRACTICE"
TITLE = "Foundation-format practice test"
PATH_TITLE = "P3O Foundation preparation"
MODULE = "P3OF-08"  # the path's module that the practice test completes
#: The demo's default size: enough attempts for the item statistics to flag items.
PEOPLE = 300
#: Scored items Grace answers correctly, of 70 (a pass is 35).
CORRECT = 48
#: Of those, the GOV-01 items she gets right: too few (under 60%) for GOV-01 to be certified.
GOV01_CORRECT = 2
KEYBOARD_ITEMS = 4


@contextmanager
def serve_default_demo(folder) -> Iterator[LiveSite]:
    """The demo organisation at its default size, served on 127.0.0.1 (as ``serve_demo``)."""

    app = make_app(f"sqlite:///{folder / 'demo.sqlite3'}")
    with app.app_context():
        upgrade()
    runner = app.test_cli_runner()
    output = []
    for args in (["content", "load"], ["demo", "build", "--people", str(PEOPLE), "--seed", "7"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, f"flask {' '.join(args)} failed:\n{result.output}"
        output.append(result.output)
    server = make_server(
        "127.0.0.1", 0, _closing(app), threaded=True, request_handler=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, name="assessment-site", daemon=True)
    thread.start()
    try:
        yield LiveSite(f"http://127.0.0.1:{server.server_port}", app, "".join(output))
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="module")
def own_site(tmp_path_factory):
    with serve_default_demo(tmp_path_factory.mktemp("assessment-walkthrough")) as site:
        yield site


@contextmanager
def database(site: LiveSite):
    """A session on the live site's database (between page loads, never during one)."""
    with site.app.app_context():
        try:
            yield db.session
        finally:
            db.session.remove()


# --- what the database knows about an attempt ----------------------------------------------------


@dataclass(frozen=True)
class Key:
    """One item of an attempt, with the place on the page of its correct option."""

    id: int
    position: int
    section: int
    scored: bool
    competency: str
    correct: str  # the value (place on the page) of the correct option
    wrong: str  # the value of a wrong option
    secrets: tuple[str, ...]  # its rationales and feedback: never shown before submission
    order: tuple[int, ...]  # the option shown at each place

    def stored(self, value: str) -> int:
        """The answer as the attempt stores it (the option's place in the item)."""
        return self.order[int(value)]


def attempt_keys(site: LiveSite, attempt_id: int) -> dict[int, Key]:
    out = {}
    with database(site) as session:
        rows = session.execute(
            select(AttemptItem, ItemVersion.content, ItemVersion.competency_code)
            .join(ItemVersion, ItemVersion.id == AttemptItem.item_version_id)
            .where(AttemptItem.attempt_id == attempt_id)
            .order_by(AttemptItem.position)
        ).all()
        for row, content, competency in rows:
            item = item_from_data(content)
            assert item.type == "single", f"{item.id}: a Foundation item is single choice"
            places = [str(d) for d in range(len(row.presentation))]
            right = next(d for d, i in enumerate(row.presentation) if item.options[i].correct)
            secrets = [o.rationale for o in item.options] + [item.feedback, item.notes]
            out[row.id] = Key(
                id=row.id,
                position=row.position,
                section=row.section,
                scored=row.scored,
                competency=competency,
                correct=str(right),
                wrong=next(p for p in places if p != str(right)),
                secrets=tuple(s for s in secrets if len(s) >= 20),
                order=tuple(row.presentation),
            )
    assert out, f"attempt {attempt_id} has no items"
    return out


def saved_answers(site: LiveSite, attempt_id: int) -> dict[int, object]:
    with database(site) as session:
        return dict(
            session.execute(
                select(AttemptItem.id, AttemptItem.answer).where(
                    AttemptItem.attempt_id == attempt_id
                )
            ).all()
        )


def the_attempt(site: LiveSite, attempt_id: int) -> Attempt:
    with database(site) as session:
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None
        session.expunge(attempt)
        return attempt


def capability_row(site: LiveSite, email: str, code: str):
    """(role code, row) of competency ``code`` in the person's current role."""
    with database(site) as session:
        person = session.scalar(select(Person).where(Person.email == email))
        cap = profile.capability(session, person, date.today())
        rows = [
            (rc.code, r)
            for rc in cap.roles
            if rc.kind == "current"
            for r in rc.rows
            if r.code == code
        ]
    assert rows, f"{email}'s current role does not ask for {code}"
    return rows[0]


# --- what the browser received -------------------------------------------------------------------


@dataclass
class Received:
    """Every response of the site's own URLs that a page received, with its body."""

    base: str
    bodies: list[tuple[str, str]] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)

    def __call__(self, response) -> None:
        if not response.url.startswith(self.base) or 300 <= response.status < 400:
            return
        try:
            body = response.body()
        except Exception as error:  # noqa: BLE001 - recorded, and the test fails on it
            # A static file (the favicon) whose page was left before it was read holds
            # nothing of an attempt; any other unread response fails the test.
            if "/static/" not in response.url:
                self.unread.append(f"{response.url}: {error}")
            return
        self.bodies.append((response.url, body.decode("utf-8", "replace")))


def forms_of(secret: str) -> set[str]:
    """A text as a page or a JSON answer could carry it."""
    return {
        secret,
        html.escape(secret),
        html.escape(secret, quote=False),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }


#: How a key could be marked in a page or a JSON answer.
KEY_MARKS = re.compile(r"""["']correct["']\s*:|data-correct|data-key\b|\bis-correct\b""")


def leaks(received: Received, keys: dict[int, Key]) -> list[str]:
    found = []
    secrets = {form: s for k in keys.values() for s in k.secrets for form in forms_of(s)}
    for url, body in received.bodies:
        if KEY_MARKS.search(body):
            found.append(f"{url}: marks a key ({KEY_MARKS.search(body).group(0)!r})")
        for form, secret in secrets.items():
            if form in body:
                found.append(f"{url}: shows {secret[:60]!r}")
    return found


# --- answering -----------------------------------------------------------------------------------


def answer_by_keyboard(page, item_id: int, value: str) -> None:
    """Tab to the item's options, then choose with the arrow keys (or Space for the first)."""
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.name") == (
            f"a{item_id}"
        ):
            break
    else:
        pytest.fail(f"question a{item_id} cannot be reached with the Tab key")
    focused = page.evaluate("() => document.activeElement.value")
    assert focused == "0", "Tab enters an unanswered question at its first option"
    if value == "0":
        page.keyboard.press("Space")
    for _ in range(int(value)):
        page.keyboard.press("ArrowDown")
    expect(page.locator(f"#a{item_id}-{value}")).to_be_checked()


def wait_saved(page, item_id: int) -> None:
    status = page.locator(f"fieldset[data-item='{item_id}'] [data-status]")
    expect(status).to_have_text("Saved", timeout=TIMEOUT_MS)


def shown_ids(page) -> list[int]:
    return [
        int(v)
        for v in page.locator("fieldset[data-item]").evaluate_all(
            "(sets) => sets.map((s) => s.getAttribute('data-item'))"
        )
    ]


def screenshot_top(b, name: str, height: int = 3000) -> None:
    """Like ``Browsing.screenshot``, but only the top of a very long page: the result page
    with its review of 75 questions is 30,000 px tall on a desktop and 50,000 on a phone."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    width = b.page.viewport_size["width"]
    tall = min(height, b.page.evaluate("() => document.documentElement.scrollHeight"))
    b.page.screenshot(
        path=str(SCREENSHOT_DIR / f"{name}-{b.viewport}.png"),
        full_page=True,
        clip={"x": 0, "y": 0, "width": width, "height": tall},
    )


def subtitle(page) -> str:
    return page.locator(".page-header .text-muted").first.text_content().strip()


# --- the walkthrough, phase by phase -------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Which option Grace picks for each item, and what that must score."""

    keys: dict[int, Key]
    choice: dict[int, str]  # item id -> the value she picks
    right: frozenset[int]  # the items she answers correctly

    @property
    def scored(self) -> list[Key]:
        return sorted((k for k in self.keys.values() if k.scored), key=lambda k: k.position)

    @property
    def sections(self) -> list[int]:
        return sorted({k.section for k in self.keys.values()})

    def by_competency(self) -> dict[str, tuple[int, int]]:
        """Competency -> (scored items, marks)."""
        items = Counter(k.competency for k in self.scored)
        marks = Counter(k.competency for k in self.scored if k.id in self.right)
        return {code: (n, marks[code]) for code, n in items.items()}


def plan_answers(keys: dict[int, Key]) -> Plan:
    """CORRECT scored items right (GOV-05's first, only GOV01_CORRECT of GOV-01's), the
    other scored items wrong; the trial items right, since they must not count."""
    scored = sorted((k for k in keys.values() if k.scored), key=lambda k: k.position)
    gov01 = [k for k in scored if k.competency == "GOV-01"]
    others = sorted(
        (k for k in scored if k.competency != "GOV-01"),
        key=lambda k: (k.competency != "GOV-05", k.position),
    )
    right = {k.id for k in gov01[:GOV01_CORRECT]}
    right |= {k.id for k in others[: CORRECT - GOV01_CORRECT]}
    right |= {k.id for k in keys.values() if not k.scored}
    choice = {k.id: (k.correct if k.id in right else k.wrong) for k in keys.values()}
    plan = Plan(keys, choice, frozenset(right))
    n5, m5 = plan.by_competency()["GOV-05"]
    assert len(gov01) >= 5 and n5 >= 5 and m5 * 100 >= 60 * n5, "a draw that cannot certify"
    return plan


def enrol_on_the_path(b) -> str:
    """From her learning page, onto the P3O Foundation path; the enrolment's URL."""
    page = b.page
    b.goto("/learning")
    path = (
        page.get_by_test_id("open-paths")
        .locator("div.border-bottom")
        .filter(has=page.locator(".fw-semibold", has_text=re.compile(rf"^{PATH_TITLE}$")))
    )
    path.get_by_role("button", name="Enrol me").click()
    page.wait_for_url(re.compile(r"/learning/enrolments/\d+$"))
    assert practice_module(page).get_attribute("data-state") != "done"
    return page.url


def practice_module(page):
    return page.get_by_test_id("module").filter(has=page.locator(f"a[href$='/modules/{MODULE}']"))


def start_from_my_assessments(page) -> int:
    """Learning → My assessments → the practice test → Start; the attempt's id."""
    page.get_by_test_id("nav").get_by_role("button", name="Learning").click()
    page.get_by_role("link", name="My assessments").click()
    page.wait_for_url(re.compile(r"/assessments$"))
    page.get_by_test_id("open-assessments").get_by_role("link", name=TITLE).click()
    page.wait_for_url(re.compile(r"/assessments/\d+/start$"))
    fmt = " ".join(page.get_by_test_id("format").text_content().split())
    assert "75 questions, of which 70 count towards your score" in fmt
    assert "Time limit: 60 minutes" in fmt and "Pass mark: 50% of the marks (35 of 70)" in fmt
    page.get_by_test_id("start").click()
    page.wait_for_url(re.compile(r"/attempts/\d+(\?.*)?$"))
    assert "0 of 75 questions answered" in subtitle(page)
    assert page.get_by_test_id("clock").count() == 1
    return int(re.search(r"/attempts/(\d+)", page.url).group(1))


def answer_the_section(page, plan: Plan, section: int, keyboard: int = 0) -> int:
    """Answer the section shown as planned, the first ``keyboard`` items with the keys
    only; each answer is saved as it is given. How many were answered."""
    ids = shown_ids(page)
    assert ids and {plan.keys[i].section for i in ids} == {section}
    for item_id in ids[:keyboard]:
        answer_by_keyboard(page, item_id, plan.choice[item_id])
        wait_saved(page, item_id)
    # The others at a brisk clicking pace: several saves are under way at once.
    for item_id in ids[keyboard:]:
        page.locator(f"#a{item_id}-{plan.choice[item_id]}").check()
    for item_id in ids[keyboard:]:
        wait_saved(page, item_id)
    return len(ids)


def leave_and_resume(b, plan: Plan, attempt_id: int, answered: int) -> None:
    """Off to the home page, back through My assessments: every answer is still there."""
    page = b.page
    page.get_by_role("link", name="PMO Pathways").click()
    page.wait_for_url(b.url("/"))
    b.goto("/assessments")
    page.get_by_test_id("open-assessments").get_by_role("link", name="Resume").click()
    page.wait_for_url(re.compile(rf"/attempts/{attempt_id}(\?.*)?$"))
    assert f"{answered} of 75 questions answered" in subtitle(page)
    for item_id in shown_ids(page):  # the first section, as she answered it
        expect(page.locator(f"#a{item_id}-{plan.choice[item_id]}")).to_be_checked()


def take_the_attempt(b, plan: Plan, attempt_id: int) -> None:
    """Every section in turn, leaving and resuming after the third."""
    page = b.page
    sections = plan.sections
    assert len(sections) == 8
    answered = 0
    for s, section in enumerate(sections):
        answered += answer_the_section(page, plan, section, KEYBOARD_ITEMS if s == 0 else 0)
        if s == 0:
            b.screenshot("assessment-attempt")
        if s == 2:
            leave_and_resume(b, plan, attempt_id, answered)
            # ... and goes on with the section she had not opened yet.
            page.get_by_test_id("sections").get_by_role("button").nth(s + 1).click()
        elif s < len(sections) - 1:
            page.get_by_role("button", name="Next section →").click()
        page.wait_for_load_state()


def cells(row) -> list[str]:
    return [" ".join(c.split()) for c in row.locator("td").all_text_contents()]


def check_the_result(page, plan: Plan) -> None:
    """The exact score, the pass, the breakdowns by section and competency, the rule."""
    score = " ".join(page.get_by_test_id("score").text_content().split())
    assert f"{CORRECT} of 70" in score
    assert f"{CORRECT * 100 // 70}% · pass mark 50% (35 of 70)" in score
    assert "5 trial questions did not count" in score
    assert page.get_by_test_id("outcome").text_content().strip() == "Passed"
    rows = page.get_by_test_id("by-section").locator("tbody tr").all()
    assert len(rows) == len(plan.sections)
    for row, section in zip(rows, plan.sections, strict=True):
        items = [k for k in plan.scored if k.section == section]
        marks = sum(k.id in plan.right for k in items)
        assert cells(row)[1:] == [f"{marks} of {len(items)}", f"{marks * 100 // len(items)}%"]
    shown = {
        cells(row)[0].split()[0]: cells(row)
        for row in page.get_by_test_id("by-competency").locator("tbody tr").all()
    }
    expected = plan.by_competency()
    assert set(shown) == set(expected)
    for code, (n, m) in expected.items():
        assert shown[code][1:4] == [str(n), f"{m} of {n}", f"{m * 100 // n}%"], code
    assert shown["GOV-05"][4] == "Level 2 certified"
    assert shown["GOV-01"][4] == "Level 2 not certified: below 60%"
    certified = page.get_by_test_id("certified").text_content()
    assert "GOV-05" in certified and "level 2" in certified and "GOV-01" not in certified
    rule = page.get_by_test_id("certification-rule").text_content()
    assert "at least 5 scored items" in rule and "at least 60%" in rule
    # The review opens now, with the rationales that were kept back until submission.
    review = page.get_by_test_id("review").inner_html()
    assert any(f in review for k in plan.keys.values() for s in k.secrets for f in forms_of(s))


def check_the_statistics(b, site: LiveSite) -> None:
    """The trainer's item statistics of the practice test, and where learners fail."""
    page = b.page
    with database(site) as session:
        assessment_id, finished = session.execute(
            select(Assessment.id, func.count(Attempt.id))
            .join(Attempt, Attempt.assessment_id == Assessment.id)
            .where(Assessment.code == ASSESSMENT, Attempt.status != AttemptStatus.IN_PROGRESS)
            .group_by(Assessment.id)
        ).one()
    assert finished > 100, "the demo's attempts"
    page.get_by_test_id("nav").get_by_role("button", name="Learning").click()
    page.get_by_role("link", name="Item statistics").click()
    line = page.get_by_test_id("statistics-assessments").locator("tr", has_text=TITLE)
    line.get_by_role("link", name=TITLE).click()
    page.wait_for_url(re.compile(rf"/assessments/{assessment_id}/statistics$"))
    summary = {
        card.locator(".text-muted").text_content(): card.locator(".fs-4").text_content()
        for card in page.get_by_test_id("statistics-summary").locator(".card-body").all()
    }
    assert summary["Attempts"] == str(finished)
    assert int(summary["Flagged items"]) >= 1
    table = page.get_by_test_id("statistics-items")
    headers = [h.strip() for h in table.locator("thead th").all_text_contents()]
    facility = [cells(row)[headers.index("Facility")] for row in table.locator("tbody tr").all()]
    figures = [float(v) for v in facility if re.fullmatch(r"[01]\.\d+", v)]
    assert len(figures) >= 60 and all(0 <= f <= 1 for f in figures)
    assert table.locator("tbody .badge").count() >= 1, "no item is flagged"

    # Where learners fail, by competency and by org unit, for this test.
    page.get_by_test_id("nav").get_by_role("button", name="Learning").click()
    page.get_by_role("link", name="Results by competency").click()
    page.wait_for_url(re.compile(r"/assessments/statistics/competencies$"))
    page.get_by_label("Assessment").select_option(label=TITLE)
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(rf"/statistics/competencies\?assessment={assessment_id}$"))
    rows = [
        cells(r) for r in page.get_by_test_id("statistics-competencies").locator("tbody tr").all()
    ]
    assert {"GOV-05", "GOV-01"} <= {r[0] for r in rows}
    assert all(re.fullmatch(r"\d+%", r[-1]) for r in rows)
    page.get_by_role("link", name="by org unit", exact=True).click()
    page.wait_for_url(re.compile(rf"/statistics/units\?assessment={assessment_id}$"))
    units = [cells(r) for r in page.get_by_test_id("statistics-units").locator("tbody tr").all()]
    assert len(units) >= 2 and any(re.fullmatch(r"\d+%", c) for r in units for c in r)


def test_a_learner_passes_the_practice_test_and_the_trainer_reads_its_statistics(
    chromium, own_site
):
    grace = USERS["trainer"]
    role_code, before = capability_row(own_site, grace.email, "GOV-05")
    assert before.gap and before.required <= 2, "the demo trainer has no GOV-05 gap a pass closes"
    context, b = open_browsing(chromium, own_site)
    phone_context, phone = open_browsing(chromium, own_site, "phone")
    received = Received(own_site.url)
    b.page.on("response", received)
    phone.page.on("response", received)
    page = b.page
    try:
        b.log_in(grace)
        enrolment_url = enrol_on_the_path(b)
        attempt_id = start_from_my_assessments(page)
        attempt_url = f"/attempts/{attempt_id}"
        plan = plan_answers(attempt_keys(own_site, attempt_id))
        take_the_attempt(b, plan, attempt_id)
        assert saved_answers(own_site, attempt_id) == {
            i: k.stored(plan.choice[i]) for i, k in plan.keys.items()
        }

        # On a phone the attempt reads without sideways scrolling.
        phone.log_in(grace)
        phone.goto(attempt_url)
        assert phone.page.locator("fieldset[data-item]").count() > 0
        assert phone.horizontal_overflow() == 0
        phone.screenshot("assessment-attempt")

        # The confirmation step; nothing received so far shows a key. Then she submits.
        page.get_by_test_id("finish").click()
        page.wait_for_url(re.compile(rf"{attempt_url}/submit$"))
        assert "You have answered 75 of 75 questions." in page.content()
        assert not received.unread, received.unread
        assert sum("/autosave" in url for url, _ in received.bodies) >= 75
        assert leaks(received, plan.keys) == []
        page.get_by_role("button", name="Submit my answers").click()
        page.wait_for_url(re.compile(rf"{attempt_url}/result$"))
        check_the_result(page, plan)
        screenshot_top(b, "assessment-result")
        phone.goto(f"{attempt_url}/result")
        assert phone.horizontal_overflow() == 0
        screenshot_top(phone, "assessment-result")
        attempt = the_attempt(own_site, attempt_id)
        assert (attempt.status, attempt.marks, attempt.max_marks, attempt.passed) == (
            AttemptStatus.SUBMITTED,
            CORRECT,
            70,
            True,
        )
        assert attempt.certified == {"GOV-05": 2}

        # The pass shows on her capability page: the gap is closed by the assessment ...
        today = datetime.now(UTC).date()  # the day the server records
        page.get_by_test_id("nav").get_by_role("link", name="My capability").click()
        page.wait_for_url(re.compile(r"/capability$"))
        row = page.get_by_test_id(f"role-table-{role_code}").locator("tr[data-competency='GOV-05']")
        assert row.get_by_test_id("gap").count() == 0
        assert cells(row)[2] == "2"
        assert f"Assessment passed, {today:%d %b %Y}" in row.text_content()
        # ... and on her path, the practice-test module is done.
        page.goto(enrolment_url)
        assert practice_module(page).get_attribute("data-state") == "done"
        assert f"Done {today:%d %b %Y}" in practice_module(page).text_content()
        b.watch.assert_clean()
        phone.watch.assert_clean()

        # As the trainer, she reads the item statistics of the demo's attempts.
        check_the_statistics(b, own_site)
        b.watch.assert_clean()
    except Exception:
        b.screenshot("assessment-walkthrough-failure")
        raise
    finally:
        phone_context.close()
        context.close()


def start_the_practice_test(b) -> int:
    """Straight to My assessments and the practice test's Start; the attempt's id."""
    page = b.page
    b.goto("/assessments")
    page.get_by_test_id("open-assessments").get_by_role("link", name=TITLE).click()
    page.get_by_test_id("start").click()
    page.wait_for_url(re.compile(r"/attempts/\d+(\?.*)?$"))
    return int(re.search(r"/attempts/(\d+)", page.url).group(1))


def move_deadline(site: LiveSite, attempt_id: int, deadline: datetime) -> None:
    """Time passes: the attempt's deadline is ``deadline`` (its hour began an hour earlier)."""
    with database(site) as session:
        session.execute(
            update(Attempt)
            .where(Attempt.id == attempt_id)
            .values(started_at=deadline - timedelta(minutes=60), deadline=deadline)
        )
        session.commit()


def test_the_clock_closes_an_attempt_whatever_the_browser_does(chromium, own_site):
    priya = USERS["learner"]
    context, b = open_browsing(chromium, own_site)
    try:
        page = b.page
        b.log_in(priya)
        attempt_id = start_the_practice_test(b)
        keys = attempt_keys(own_site, attempt_id)
        first, second, third, fourth = shown_ids(page)[:4]

        # Two answers in time; a third within the stated grace after the deadline.
        page.locator(f"#a{first}-{keys[first].correct}").check()
        wait_saved(page, first)
        page.locator(f"#a{second}-{keys[second].wrong}").check()
        wait_saved(page, second)
        move_deadline(own_site, attempt_id, datetime.now(UTC) - timedelta(seconds=20))
        page.locator(f"#a{third}-{keys[third].correct}").check()
        wait_saved(page, third)
        before = saved_answers(own_site, attempt_id)

        # Past the deadline plus the grace: the next answer is refused, whatever the page does.
        move_deadline(own_site, attempt_id, datetime.now(UTC) - timedelta(seconds=90))
        autosave = f"{own_site.url}/attempts/{attempt_id}/autosave"
        b.watch.expect_status(autosave, 409)
        page.locator(f"#a{fourth}-{keys[fourth].correct}").check()
        status = page.locator(f"fieldset[data-item='{fourth}'] [data-status]")
        expect(status).to_have_text(
            re.compile("^Time is up: this attempt was closed at its deadline")
        )
        # A save posted straight to the server is refused too, and changes nothing.
        token = page.locator("input[name=csrf_token]").first.input_value()
        late = page.request.post(
            autosave,
            form={
                "csrf_token": token,
                "item": str(first),
                f"r{first}": "1",
                f"a{first}": keys[first].wrong,
            },
            headers={"X-CSRFToken": token, "Accept": "application/json"},
        )
        assert late.status == 409 and late.json()["closed"] is True
        # The page's own Save button leads to the result, closed at the deadline.
        page.get_by_test_id("save").click()
        page.wait_for_url(re.compile(rf"/attempts/{attempt_id}/result$"))
        assert "closed at its deadline with the answers saved by then" in page.content()
        assert "Closed at the deadline" in subtitle(page)
        expected = sum(keys[i].scored for i in (first, third))
        assert f"{expected} of 70" in page.get_by_test_id("score").text_content()
        assert page.get_by_test_id("outcome").text_content().strip() == "Not passed"
        assert saved_answers(own_site, attempt_id) == before
        assert before[fourth] is None and before[third] is not None
        attempt = the_attempt(own_site, attempt_id)
        assert attempt.status == AttemptStatus.TIMED_OUT
        assert attempt.finished_at == attempt.deadline and attempt.submitted_at is None
        assert attempt.marks == expected
        with own_site.app.app_context():
            deadline = session_time(attempt.deadline)  # as the organisation reads the time
        score = " ".join(page.get_by_test_id("score").text_content().split())
        assert (
            f"Finished {deadline}, closed at the deadline with the answers saved by then" in score
        )
        # The attempt page itself now only leads to the result.
        page.goto(f"{own_site.url}/attempts/{attempt_id}")
        page.wait_for_url(re.compile(rf"/attempts/{attempt_id}/result$"))
        b.watch.assert_clean()
    except Exception:
        b.screenshot("assessment-clock-failure")
        raise
    finally:
        context.close()


def test_moving_on_while_an_answer_is_being_saved_keeps_it_without_a_conflict(chromium, own_site):
    """Tom answers a question and presses "Next section →" before its autosave has come
    back. The page waits for that save, then moves on; the answer is saved once, and he is
    not told that it was changed in another window or tab."""
    context, b = open_browsing(chromium, own_site)
    try:
        page = b.page
        b.log_in(USERS["admin"])
        attempt_id = start_the_practice_test(b)
        keys = attempt_keys(own_site, attempt_id)
        first = shown_ids(page)[0]
        heading = page.get_by_test_id("section-heading")
        expect(heading).to_contain_text("Section 1 of")

        held = []  # the autosave, kept back as a slow network would

        def hold(route) -> None:
            if held:
                route.continue_()
            else:
                held.append(route)

        page.route("**/autosave", hold)
        page.locator(f"#a{first}-{keys[first].correct}").check()
        for _ in range(100):
            if held:
                break
            page.wait_for_timeout(50)
        assert held, "the answer was not sent as it was given"
        page.get_by_role("button", name="Next section →").click()
        page.wait_for_timeout(500)
        expect(heading).to_contain_text("Section 1 of")  # waiting for the save under way
        held[0].continue_()
        expect(heading).to_contain_text("Section 2 of", timeout=TIMEOUT_MS)
        assert "changed in another window or tab" not in page.content()
        with database(own_site) as session:
            row = session.get(AttemptItem, first)
            assert row is not None
            assert (row.answer, row.revision) == (keys[first].stored(keys[first].correct), 1)
        b.watch.assert_clean()
    except Exception:
        b.screenshot("assessment-save-race-failure")
        raise
    finally:
        context.close()
