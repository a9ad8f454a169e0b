"""Assessment views: taking — the learner's assessments and attempts (start page, the
attempt with its save and autosave, submit, the result and its review), and the results of
a manager's people or, for trainers, everyone's.

A learner only ever reaches their own attempts: anyone else's attempt is a 404, as is one
that does not exist. Every read of an attempt first closes it if its time is up (the server
owns the clock), so a page never shows an attempt open past its deadline plus grace.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from app import clock
from app.access import MANAGER, SIGNED_IN, TRAINER, allow, can_see_person, visible_people
from app.assessment import attempt_queries as queries
from app.assessment import attempts as engine
from app.assessment.attempt_queries import ReviewItem
from app.assessment.forms.taking import AttemptForm, read_answers, with_chosen
from app.assessment.models import Assessment, AssessmentStatus, Attempt, AttemptStatus
from app.assessment.views import bp
from app.db import record_id
from app.errors import DomainError
from app.extensions import db
from app.forms import ConfirmForm
from app.viewutil import (
    Confirmation,
    confirmation_page,
    confirmed,
    paginate,
    require_confirmation,
    run,
)

# --- object scope -----------------------------------------------------------------------------


def _load(attempt_id: int) -> Attempt:
    attempt = queries.attempt_with_assessment(db.session(), attempt_id)
    if attempt is None:
        abort(404)
    return attempt


def _close_if_overdue(attempt: Attempt) -> None:
    """The lazy close: an attempt past its deadline plus grace is closed before it is read."""
    if engine.close_if_overdue(db.session(), attempt, clock.now()) is not None:
        db.session.commit()


def _own_attempt(attempt_id: int) -> Attempt:
    """The current user's own attempt; anyone else's, or none, is a 404."""
    attempt = _load(attempt_id)
    if attempt.person_id != current_user.person_id:
        abort(404)
    _close_if_overdue(attempt)
    return attempt


def _visible_attempt(attempt_id: int) -> Attempt:
    """An attempt whose person the user may see (their own; their people's for a manager;
    everyone's for a trainer); anyone else's, or none, is a 404."""
    attempt = _load(attempt_id)
    if attempt.person_id != current_user.person_id and not can_see_person(
        db.session(), current_user, attempt.person_id
    ):
        abort(404)
    _close_if_overdue(attempt)
    return attempt


def _assessment_or_404(assessment_id: int) -> Assessment:
    assessment = db.session.get(Assessment, assessment_id)
    if assessment is None or assessment.status == AssessmentStatus.DRAFT:
        abort(404)
    return assessment


def _section_arg(value: str | None, attempt: Attempt) -> int | None:
    """The section to show: a section's position, or None for all on one page. By default
    the first section when the attempt has several, else all. The sections are the
    attempt's own (as drawn), whatever a trainer has changed since."""
    if value == "all":
        return None
    positions = queries.sections_of(db.session(), attempt.id)
    if value is not None and value.isdigit() and int(value) in positions:
        return int(value)
    return positions[0] if len(positions) > 1 else None


# --- my assessments and the start page ----------------------------------------------------------


@bp.route("/assessments")
@allow(SIGNED_IN)
def mine():
    now = clock.now()
    if engine.close_overdue(db.session(), now, person_id=current_user.person_id):
        db.session.commit()
    page = queries.my_assessments_page(db.session(), current_user.person_id, now)
    return render_template("assessment/taking/mine.html", page=page)


@bp.route("/assessments/<int:assessment_id>/start")
@allow(SIGNED_IN)
def intro(assessment_id: int):
    assessment = _assessment_or_404(assessment_id)
    now = clock.now()
    if engine.close_overdue(
        db.session(), now, person_id=current_user.person_id, assessment_id=assessment.id
    ):
        db.session.commit()
    page = queries.start_page(db.session(), assessment, current_user.person_id, now)
    return render_template("assessment/taking/start.html", page=page, confirm=ConfirmForm())


@bp.route("/assessments/<int:assessment_id>/start", methods=["POST"])
@allow(SIGNED_IN)
def start(assessment_id: int):
    require_confirmation()
    assessment = _assessment_or_404(assessment_id)
    done, started = run(
        lambda: engine.start(
            db.session(), assessment=assessment, person_id=current_user.person_id, now=clock.now()
        )
    )
    if not done or started is None:
        return redirect(url_for("assessment.intro", assessment_id=assessment_id))
    if started.resumed:
        flash("You have an attempt in progress: carry on where you left off.", "info")
    return redirect(url_for("assessment.attempt", attempt_id=started.attempt.id))


# --- the attempt ---------------------------------------------------------------------------------


def _attempt_page(
    attempt: Attempt, section: int | None, form: AttemptForm, read=None, status: int = 200
):
    page = queries.attempt_page(db.session(), attempt, section, clock.now())
    if read is not None:
        page.items = [with_chosen(item, read.chosen) for item in page.items]
        page.errors = read.errors
    form.section.data = "all" if section is None else str(section)
    return render_template("assessment/taking/attempt.html", page=page, form=form), status


@bp.route("/attempts/<int:attempt_id>")
@allow(SIGNED_IN)
def attempt(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    if attempt.status != AttemptStatus.IN_PROGRESS:
        return redirect(url_for("assessment.result", attempt_id=attempt.id))
    section = _section_arg(request.args.get("section"), attempt)
    return _attempt_page(attempt, section, AttemptForm())


def _after_save(attempt: Attempt, section: int | None):
    """Where the save button leads: the section asked for, all on one page, the submit
    confirmation, or back to the same page."""
    go = request.form.get("go", "")
    if go == "finish":
        return redirect(url_for("assessment.submit_confirm", attempt_id=attempt.id))
    target = go if go else ("all" if section is None else str(section))
    return redirect(url_for("assessment.attempt", attempt_id=attempt.id, section=target))


def _stale_message(stale: list[engine.StaleAnswer], numbers: dict[str, int]) -> str:
    which = ", ".join(str(numbers.get(s.field or "", "?")) for s in stale)
    return (
        f"Not saved: question {which} — changed in another window or tab after this page "
        "was loaded, so the answer saved there was kept. The page shows it now."
    )


@bp.route("/attempts/<int:attempt_id>", methods=["POST"])
@allow(SIGNED_IN)
def save(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    form = AttemptForm()
    if not form.validate_on_submit():
        abort(400)
    if attempt.status != AttemptStatus.IN_PROGRESS:
        flash(engine.closed_message(attempt), "warning")
        return redirect(url_for("assessment.result", attempt_id=attempt.id))
    section = _section_arg(form.section.data, attempt)
    items = queries.shown_items(db.session(), attempt, section)
    read = read_answers(items, request.form)
    if read.errors:
        flash("Some answers need another look; nothing on this page was saved.", "danger")
        return _attempt_page(attempt, section, form, read)
    done, saved = run(
        lambda: engine.save_answers(
            db.session(), attempt=attempt, answers=read.answers, now=clock.now()
        )
    )
    if done and saved is not None:
        if saved.saved:
            count = len(saved.saved)
            flash(f"{count} answer{'s' if count != 1 else ''} saved.", "success")
        if saved.stale:
            numbers = {item.field: item.number for item in items}
            flash(_stale_message(saved.stale, numbers), "warning")
    return _after_save(attempt, section)


@bp.route("/attempts/<int:attempt_id>/autosave", methods=["POST"])
@allow(SIGNED_IN)
def autosave(attempt_id: int):
    """One answer saved as the learner changes it (attempt.js). JSON: ``ok`` and the new
    ``revision``; or ``ok: false`` with a ``message`` (409 when the answer was changed
    elsewhere or the attempt is closed, 400 when it cannot be read)."""
    attempt = _own_attempt(attempt_id)
    if attempt.status != AttemptStatus.IN_PROGRESS:
        return jsonify(ok=False, closed=True, message=engine.closed_message(attempt)), 409
    try:
        row, content = engine.item_content(
            db.session(), attempt, request.form.get("item", type=record_id) or 0
        )
    except DomainError:
        abort(404)
    item = queries.readable_item(row, content)
    read = read_answers([item], request.form)
    if read.errors or not read.answers:
        return jsonify(ok=False, message=read.errors.get(item.id, "Nothing to save.")), 400
    answer = read.answers[0]
    # A JSON answer, so the refusal is returned rather than flashed (viewutil.run flashes).
    try:
        saved = engine.save_answer(
            db.session(),
            attempt=attempt,
            item_id=item.id,
            answer=answer.answer,
            revision=answer.revision,
            now=clock.now(),
        )
    except engine.StaleAnswer as stale:
        db.session.rollback()
        message = (
            "Not saved: this answer was changed in another window or tab after this page was "
            "loaded. Reload the page to see the answer saved there."
        )
        return jsonify(ok=False, stale=True, revision=stale.revision, message=message), 409
    except engine.AttemptClosed as closed:
        db.session.rollback()
        return jsonify(ok=False, closed=True, message=closed.message), 409
    except DomainError as error:
        db.session.rollback()
        return jsonify(ok=False, message=error.message), 400
    db.session.commit()
    return jsonify(ok=True, revision=saved.revision)


@bp.route("/attempts/<int:attempt_id>/submit")
@allow(SIGNED_IN)
def submit_confirm(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    if attempt.status != AttemptStatus.IN_PROGRESS:
        return redirect(url_for("assessment.result", attempt_id=attempt.id))
    return _confirmation(attempt)


def _confirmation(attempt: Attempt):
    page = queries.attempt_page(db.session(), attempt, None, clock.now())
    unanswered = [str(item.number) for item in page.items if not item.answered]
    details = [f"You have answered {page.answered} of {page.total} questions."]
    if unanswered:
        details.append("Not answered: question " + ", ".join(unanswered) + ".")
    details.append("Once submitted, your answers cannot be changed.")
    return confirmation_page(
        Confirmation(
            title=f"Submit {page.title}?",
            message="Your attempt will be scored on the answers saved now.",
            action=url_for("assessment.submit", attempt_id=attempt.id),
            button="Submit my answers",
            back=url_for("assessment.attempt", attempt_id=attempt.id),
            details=details,
            danger=False,
        )
    )


@bp.route("/attempts/<int:attempt_id>/submit", methods=["POST"])
@allow(SIGNED_IN)
def submit(attempt_id: int):
    require_confirmation()
    attempt = _own_attempt(attempt_id)
    if attempt.status == AttemptStatus.IN_PROGRESS and not confirmed():
        return _confirmation(attempt)
    done, finished = run(lambda: engine.submit(db.session(), attempt=attempt, now=clock.now()))
    if done and finished is not None:
        if finished.timed_out:
            flash(engine.closed_message(finished.attempt), "warning")
        elif not finished.first:
            flash("This attempt had already been submitted. Its result is below.", "info")
        else:
            flash("Your answers have been submitted.", "success")
    return redirect(url_for("assessment.result", attempt_id=attempt_id))


# --- the result ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewSection:
    """The review of one section: its questions shown (all, or only those not wholly
    correct), how many it has and how many were correct, and the numbers of the others."""

    title: str
    items: list[ReviewItem]
    total: int
    correct: int
    wrong: list[int]
    #: The numbers of its unscored trial questions (shown, but they did not count).
    trial: frozenset[int] = frozenset()
    open: bool = False


def _review_sections(
    attempt: Attempt, review: list[ReviewItem], only_wrong: bool
) -> list[ReviewSection]:
    """The review per section, in the attempt's order (its items' sections as drawn). With
    ``only_wrong``, only the questions not wholly correct, and the first such section open."""
    rows = attempt.items  # in position order, as the review's numbers
    trial = frozenset(n for n, row in enumerate(rows, 1) if not row.scored)
    titles = {
        s.position: s.title or f"Section {s.position + 1}" for s in attempt.assessment.sections
    }
    grouped: dict[int, list[ReviewItem]] = {}
    for r in review:
        grouped.setdefault(rows[r.number - 1].section, []).append(r)
    out: list[ReviewSection] = []
    for position, items in grouped.items():
        wrong = [r for r in items if r.marks < r.max_marks]
        shown = wrong if only_wrong else items
        if not shown:
            continue
        out.append(
            ReviewSection(
                title=titles.get(position, f"Section {position + 1}"),
                items=shown,
                total=len(items),
                correct=len(items) - len(wrong),
                wrong=[r.number for r in wrong],
                trial=frozenset(r.number for r in items if r.number in trial),
                open=only_wrong and not out,
            )
        )
    return out


@bp.route("/attempts/<int:attempt_id>/result")
@allow(SIGNED_IN)
def result(attempt_id: int):
    """The result; ``?review=wrong`` shows only the questions not wholly correct."""
    attempt = _visible_attempt(attempt_id)
    own = attempt.person_id == current_user.person_id
    if attempt.status == AttemptStatus.IN_PROGRESS:
        if own:
            return redirect(url_for("assessment.attempt", attempt_id=attempt.id))
        return render_template("assessment/taking/result.html", page=None, attempt=attempt)
    show = (TRAINER in current_user.permissions and not own) or queries.review_open(
        db.session(), attempt.assessment, attempt.person_id, clock.now()
    )
    page = queries.result_page(
        db.session(), attempt, show_review=show, person_name=attempt.person.full_name
    )
    only_wrong = request.args.get("review") == "wrong"
    review = None if page.review is None else _review_sections(attempt, page.review, only_wrong)
    wrong = sum(1 for r in page.review or () if r.marks < r.max_marks)
    return render_template(
        "assessment/taking/result.html",
        page=page,
        attempt=attempt,
        own=own,
        review=review,
        only_wrong=only_wrong,
        wrong=wrong,
    )


@bp.route("/assessments/results")
@allow(MANAGER, TRAINER)
def results():
    """The results of the people the user may see (a manager's people; everyone for a
    trainer), newest first, optionally of one assessment."""
    assessment_id = request.args.get("assessment", type=record_id)
    scope = visible_people(current_user)
    page = paginate(queries.results(db.session(), scope, assessment_id=assessment_id))
    return render_template(
        "assessment/taking/results.html",
        page=page,
        lines=queries.result_lines(page.items),
        assessments=queries.assessments_with_results(db.session()),
        assessment_id=assessment_id,
    )
