"""Learning views: authoring. Trainers list and create paths, edit a path's draft version
(details and target roles, prerequisites, modules and their order, lessons with a
preview), publish it after seeing what changed, retire a path, discard a draft, compare
any two versions, and keep the path's enrolment rules. A published version is shown, never
edited: "Edit" opens a draft copy."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.access import TRAINER, allow
from app.db import record_id
from app.extensions import db
from app.forms import ConfirmForm
from app.learning import authoring
from app.learning import path_queries as queries
from app.learning.content import TYPE_LABELS, hours_of, level_cap, word_count
from app.learning.diff import diff as compare
from app.learning.diff import first_version
from app.learning.forms import authoring as forms
from app.learning.lessons import render_lesson
from app.learning.models import EnrolmentRule, LearningPath, PathStatus, PathVersion
from app.learning.views import bp
from app.viewutil import Confirmation, confirmation_page, confirmed, require_confirmation, run

PREFIX = "/authoring/paths"


class NoDraft(Exception):
    """A draft page was asked for while the path has no open draft."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@bp.errorhandler(NoDraft)
def _no_draft(error: NoDraft):
    flash("This path has no open draft. Use “Edit” to open one.", "warning")
    return redirect(url_for("learning.authoring_path", code=error.code))


def _path(code: str) -> LearningPath:
    return queries.path_by_code(db.session(), code) or abort(404)


def _draft(path: LearningPath) -> PathVersion:
    draft = queries.current_draft(db.session(), path.id)
    if draft is None:
        raise NoDraft(path.code)
    return draft


def _page_helpers() -> dict:
    return {"type_labels": TYPE_LABELS, "hours_of": hours_of, "confirm": ConfirmForm()}


# --- the catalogue and a path ---------------------------------------------------------------


@bp.route(PREFIX)
@allow(TRAINER)
def authoring_paths():
    return render_template(
        "learning/authoring/paths.html", paths=queries.path_rows(db.session()), **_page_helpers()
    )


@bp.route(f"{PREFIX}/new", methods=["GET", "POST"])
@allow(TRAINER)
def authoring_path_new():
    form = forms.NewPathForm()
    if form.validate_on_submit():
        done, draft = run(
            lambda: authoring.create_path(
                db.session(),
                code=form.code.data,
                title=form.title.data,
                summary=form.summary.data,
                actor_id=current_user.id,
            ),
            form,
        )
        if done and draft is not None:
            flash(
                f"Path {draft.path.code} created with an empty draft: add its modules.", "success"
            )
            return redirect(url_for("learning.authoring_draft", code=draft.path.code))
    return render_template(
        "_form_page.html",
        form=form,
        heading="New learning path",
        subheading="It starts as a draft that only trainers see.",
        back=url_for("learning.authoring_paths"),
    )


def _path_page(path: LearningPath, rule_form=None):
    session = db.session()
    published = queries.published_version(session, path.id)
    shown = published or queries.latest_version(session, path.id)
    return render_template(
        "learning/authoring/path.html",
        path=path,
        published=published,
        shown=queries.content_of(session, shown) if shown else None,
        shown_version=shown,
        draft=queries.current_draft(session, path.id),
        versions=queries.version_rows(session, path.id),
        rules=queries.rule_rows(session, path.id),
        history=queries.history(session, path.id),
        rule_form=rule_form or forms.rule_form(roles=queries.role_choices(session)),
        role_names=queries.role_names(session),
        **_page_helpers(),
    )


@bp.route(f"{PREFIX}/<code>")
@allow(TRAINER)
def authoring_path(code: str):
    return _path_page(_path(code))


def _version_page(path: LearningPath, version: PathVersion, **extra):
    session = db.session()
    content = queries.content_of(session, version)
    editing = version.status == PathStatus.DRAFT
    problems = authoring.publish_problems(session, version) if editing else []
    return render_template(
        "learning/authoring/version.html",
        path=path,
        version=version,
        content=content,
        editing=editing,
        problems=[authoring.describe(p, content) for p in problems],
        lessons={m.code: render_lesson(m.lesson) for m in content.modules},
        words={m.code: word_count(m.lesson) for m in content.modules},
        role_names=queries.role_names(session),
        published=queries.published_version(session, path.id),
        move_form=forms.MoveForm(),
        **_page_helpers(),
        **extra,
    )


@bp.route(f"{PREFIX}/<code>/versions/<int:number>")
@allow(TRAINER)
def authoring_version(code: str, number: int):
    path = _path(code)
    version = queries.version_by_number(db.session(), path.id, number) or abort(404)
    if version.status == PathStatus.DRAFT:
        return redirect(url_for("learning.authoring_draft", code=code))
    return _version_page(path, version)


# --- the draft --------------------------------------------------------------------------------


def _draft_page(path: LearningPath, draft: PathVersion, prerequisite_form=None, publish_form=None):
    session = db.session()
    return _version_page(
        path,
        draft,
        prerequisite_form=prerequisite_form
        or forms.prerequisite_form(
            paths=queries.path_choices(session, excluding=path.code),
            certificates=queries.certificate_choices(session),
        ),
        publish_form=publish_form or forms.PublishForm(),
    )


@bp.route(f"{PREFIX}/<code>/draft")
@allow(TRAINER)
def authoring_draft(code: str):
    path = _path(code)
    return _draft_page(path, _draft(path))


@bp.route(f"{PREFIX}/<code>/draft", methods=["POST"])
@allow(TRAINER)
def authoring_draft_start(code: str):
    path = _path(code)
    require_confirmation()
    done, draft = run(lambda: authoring.start_draft(db.session(), path, actor_id=current_user.id))
    if not done or draft is None:
        return redirect(url_for("learning.authoring_path", code=code))
    flash(
        f"Draft version {draft.number} opened as a copy. Learners see nothing of it until you "
        "publish.",
        "success",
    )
    return redirect(url_for("learning.authoring_draft", code=code))


@bp.route(f"{PREFIX}/<code>/draft/details", methods=["GET", "POST"])
@allow(TRAINER)
def authoring_details(code: str):
    path = _path(code)
    draft = _draft(path)
    form = forms.details_form(
        roles=queries.role_choices(db.session()), data=authoring.details_values(draft)
    )
    if form.validate_on_submit():
        done, _ = run(
            lambda: authoring.update_details(
                db.session(),
                draft,
                title=form.title.data,
                summary=form.summary.data,
                open_enrolment=form.open_enrolment.data,
                audience=form.audience.data or [],
                actor_id=current_user.id,
                seen=form.row_version.data,
            ),
            form,
        )
        if done:
            flash("Details saved in the draft.", "success")
            return redirect(url_for("learning.authoring_draft", code=code))
    return render_template("learning/authoring/details.html", form=form, path=path, draft=draft)


@bp.route(f"{PREFIX}/<code>/draft/prerequisites", methods=["POST"])
@allow(TRAINER)
def authoring_prerequisite_add(code: str):
    path = _path(code)
    draft = _draft(path)
    session = db.session()
    form = forms.prerequisite_form(
        paths=queries.path_choices(session, excluding=code),
        certificates=queries.certificate_choices(session),
    )
    if form.validate_on_submit():
        done, alternatives = run(
            lambda: authoring.add_prerequisite(
                session,
                draft,
                path_codes=form.paths.data or [],
                certificate_codes=form.certificates.data or [],
                actor_id=current_user.id,
            ),
            form,
        )
        if done:
            flash("Prerequisite added to the draft.", "success")
            return redirect(url_for("learning.authoring_draft", code=code, _anchor="prerequisites"))
    return _draft_page(path, _draft(path), prerequisite_form=form)


@bp.route(f"{PREFIX}/<code>/draft/prerequisites/<int:number>/remove", methods=["POST"])
@allow(TRAINER)
def authoring_prerequisite_remove(code: str, number: int):
    path = _path(code)
    draft = _draft(path)
    require_confirmation()
    done, _ = run(
        lambda: authoring.remove_prerequisite(db.session(), draft, number, actor_id=current_user.id)
    )
    if done:
        flash("Prerequisite removed from the draft.", "success")
    return redirect(url_for("learning.authoring_draft", code=code, _anchor="prerequisites"))


# --- modules ----------------------------------------------------------------------------------


def _module_form(draft: PathVersion, code: str | None, data: dict | None = None):
    """The module form; a module may require only the modules before it."""
    session = db.session()
    place = next((m.position for m in draft.modules if m.code == code), None)
    others = [
        queries.Choice(m.code, f"{m.code} — {m.title}")
        for m in draft.modules
        if place is None or m.position < place
    ]
    existing = len((data or {}).get("evidences", []))
    return forms.module_form(
        competencies=queries.competency_choices(session),
        others=others,
        data=data,
        rows=existing + forms.SPARE_EVIDENCE_ROWS,
    )


def _render_module_form(path, draft, form, module_code: str | None):
    preview = None
    if form.preview.data:
        preview = render_lesson(form.lesson.data or "")
    return render_template(
        "learning/authoring/module_form.html",
        path=path,
        draft=draft,
        form=form,
        module_code=module_code,
        preview=preview,
        words=word_count(form.lesson.data or ""),
        caps={t: level_cap(t, queries.references(db.session()).caps) for t in TYPE_LABELS},
        type_labels=TYPE_LABELS,
        level_names=queries.level_names(db.session()),
        remove_form=ConfirmForm(),
    )


@bp.route(f"{PREFIX}/<code>/draft/modules/new", methods=["GET", "POST"])
@allow(TRAINER)
def authoring_module_new(code: str):
    path = _path(code)
    draft = _draft(path)
    form = _module_form(draft, None, {"type": "e-learning", "hours": 1})
    if form.validate_on_submit() and not form.preview.data:
        done, row = run(
            lambda: authoring.add_module(
                db.session(), draft, forms.module_fields(form), actor_id=current_user.id
            ),
            form,
        )
        if done and row is not None:
            flash(f"{row.code} {row.title} added to the draft.", "success")
            return redirect(url_for("learning.authoring_draft", code=code, _anchor="modules"))
    return _render_module_form(path, draft, form, None)


@bp.route(f"{PREFIX}/<code>/draft/modules/<module>", methods=["GET", "POST"])
@allow(TRAINER)
def authoring_module_edit(code: str, module: str):
    path = _path(code)
    draft = _draft(path)
    row = queries.module_by_code(db.session(), draft, module) or abort(404)
    form = _module_form(draft, module, authoring.module_values(row))
    if form.validate_on_submit() and not form.preview.data:
        done, _ = run(
            lambda: authoring.update_module(
                db.session(),
                draft,
                module,
                forms.module_fields(form),
                actor_id=current_user.id,
                seen=form.row_version.data,
            ),
            form,
        )
        if done:
            flash(f"{module} saved in the draft.", "success")
            return redirect(url_for("learning.authoring_draft", code=code, _anchor=f"m-{module}"))
    return _render_module_form(path, draft, form, module)


@bp.route(f"{PREFIX}/<code>/draft/modules/<module>/move", methods=["POST"])
@allow(TRAINER)
def authoring_module_move(code: str, module: str):
    path = _path(code)
    draft = _draft(path)
    form = forms.MoveForm()
    if not form.validate_on_submit():
        abort(400)
    offset = -1 if form.direction.data == "up" else 1
    run(
        lambda: authoring.move_module(db.session(), draft, module, offset, actor_id=current_user.id)
    )
    return redirect(url_for("learning.authoring_draft", code=code, _anchor=f"m-{module}"))


@bp.route(f"{PREFIX}/<code>/draft/modules/<module>/remove", methods=["POST"])
@allow(TRAINER)
def authoring_module_remove(code: str, module: str):
    path = _path(code)
    draft = _draft(path)
    row = queries.module_by_code(db.session(), draft, module) or abort(404)
    require_confirmation()
    if not confirmed():
        return confirmation_page(
            Confirmation(
                title=f"Remove {row.code} {row.title} from the draft?",
                message="It leaves the draft only. Published versions keep it, and so do the "
                "learners enrolled on them.",
                action=url_for("learning.authoring_module_remove", code=code, module=module),
                button=f"Remove {row.code}",
                back=url_for("learning.authoring_module_edit", code=code, module=module),
            )
        )
    done, title = run(
        lambda: authoring.remove_module(db.session(), draft, module, actor_id=current_user.id)
    )
    if done:
        flash(f"{module} {title} removed from the draft.", "success")
    return redirect(url_for("learning.authoring_draft", code=code, _anchor="modules"))


# --- publish, discard, retire -----------------------------------------------------------------


@bp.route(f"{PREFIX}/<code>/draft/publish", methods=["POST"])
@allow(TRAINER)
def authoring_publish(code: str):
    path = _path(code)
    draft = _draft(path)
    session = db.session()
    form = forms.PublishForm()
    if not form.validate_on_submit():
        return _draft_page(path, draft, publish_form=form)
    if not confirmed():
        if authoring.publish_problems(session, draft):
            flash("The draft is not ready to publish: see what to fix below.", "danger")
            return _draft_page(path, draft, publish_form=form)
        published = queries.published_version(session, path.id)
        new = queries.content_of(session, draft)
        changes = (
            compare(queries.content_of(session, published), new)
            if published
            else first_version(new)
        )
        return render_template(
            "learning/authoring/publish_confirm.html",
            path=path,
            draft=draft,
            published=published,
            diff=changes,
            note=form.note.data,
            role_names=queries.role_names(session),
            enrolled=queries.enrolment_count(session, published.id) if published else 0,
            type_labels=TYPE_LABELS,
        )
    done, version = run(
        lambda: authoring.publish(session, draft, actor_id=current_user.id, note=form.note.data),
        form,
    )
    if not done or version is None:
        return redirect(url_for("learning.authoring_draft", code=code))
    flash(f"Version {version.number} of {code} published: new enrolments get it.", "success")
    return redirect(url_for("learning.authoring_path", code=code))


@bp.route(f"{PREFIX}/<code>/draft/discard", methods=["POST"])
@allow(TRAINER)
def authoring_discard(code: str):
    path = _path(code)
    draft = _draft(path)
    require_confirmation()
    if not confirmed():
        never_published = len(queries.version_rows(db.session(), path.id)) == 1
        return confirmation_page(
            Confirmation(
                title=f"Discard draft version {draft.number} of {code}?",
                message="Every change in the draft is lost."
                + (
                    f" {code} was never published, so the path goes with it."
                    if never_published
                    else " The published version stays as it is."
                ),
                action=url_for("learning.authoring_discard", code=code),
                button=f"Discard version {draft.number}",
                back=url_for("learning.authoring_draft", code=code),
            )
        )
    done, kept = run(lambda: authoring.discard_draft(db.session(), draft, actor_id=current_user.id))
    if not done:
        return redirect(url_for("learning.authoring_draft", code=code))
    if kept is None:
        flash(f"Draft discarded; {code} was never published and has been deleted.", "success")
        return redirect(url_for("learning.authoring_paths"))
    flash(f"Draft version {draft.number} discarded.", "success")
    return redirect(url_for("learning.authoring_path", code=code))


@bp.route(f"{PREFIX}/<code>/retire", methods=["POST"])
@allow(TRAINER)
def authoring_retire(code: str):
    path = _path(code)
    published = queries.published_version(db.session(), path.id) or abort(404)
    require_confirmation()
    if not confirmed():
        return confirmation_page(
            Confirmation(
                title=f"Retire {code} {published.title}?",
                message=f"Version {published.number} is retired: nobody new can enrol, and "
                "enrolment rules stop enrolling. Learners already enrolled keep their version "
                "and can finish it. Publishing a new version offers the path again.",
                action=url_for("learning.authoring_retire", code=code),
                button=f"Retire {code}",
                back=url_for("learning.authoring_path", code=code),
            )
        )
    done, _ = run(lambda: authoring.retire(db.session(), path, actor_id=current_user.id))
    if done:
        flash(f"{code} retired.", "success")
    return redirect(url_for("learning.authoring_path", code=code))


# --- comparing versions -----------------------------------------------------------------------


@bp.route(f"{PREFIX}/<code>/diff")
@allow(TRAINER)
def authoring_diff(code: str):
    path = _path(code)
    session = db.session()
    rows = queries.version_rows(session, path.id)
    chosen = request.args.get("from", type=record_id), request.args.get("to", type=record_id)
    numbers = (
        (chosen[0], chosen[1])
        if chosen[0] is not None and chosen[1] is not None
        else queries.default_comparison(session, path.id)
    )
    old = new = result = None
    if numbers:
        old = queries.version_by_number(session, path.id, numbers[0]) or abort(404)
        new = queries.version_by_number(session, path.id, numbers[1]) or abort(404)
        result = compare(queries.content_of(session, old), queries.content_of(session, new))
    return render_template(
        "learning/authoring/diff.html",
        path=path,
        versions=rows,
        old=old,
        new=new,
        diff=result,
        role_names=queries.role_names(session),
        type_labels=TYPE_LABELS,
    )


# --- enrolment rules --------------------------------------------------------------------------


def _rule(path: LearningPath, rule_id: int) -> EnrolmentRule:
    rule = db.session.get(EnrolmentRule, rule_id)
    if rule is None or rule.path_id != path.id:
        abort(404)
    return rule


@bp.route(f"{PREFIX}/<code>/rules", methods=["POST"])
@allow(TRAINER)
def authoring_rule_add(code: str):
    path = _path(code)
    form = forms.rule_form(roles=queries.role_choices(db.session()))
    if form.validate_on_submit():
        done, rule = run(
            lambda: authoring.add_rule(
                db.session(),
                path,
                role_code=form.role.data,
                due_days=form.due_days.data,
                actor_id=current_user.id,
            ),
            form,
        )
        if done and rule is not None:
            flash(f"Enrolment rule added for {rule.role.code}.", "success")
            return redirect(url_for("learning.authoring_path", code=code, _anchor="rules"))
    return _path_page(_path(code), rule_form=form)


@bp.route(f"{PREFIX}/<code>/rules/<int:rule_id>", methods=["GET", "POST"])
@allow(TRAINER)
def authoring_rule_edit(code: str, rule_id: int):
    path = _path(code)
    rule = _rule(path, rule_id)
    form = forms.RuleEditForm(data=authoring.rule_values(rule))
    if form.validate_on_submit():
        done, _ = run(
            lambda: authoring.update_rule(
                db.session(),
                rule,
                due_days=form.due_days.data,
                actor_id=current_user.id,
                seen=form.row_version.data,
            ),
            form,
        )
        if done:
            flash(f"Rule for {rule.role.code} saved.", "success")
            return redirect(url_for("learning.authoring_path", code=code, _anchor="rules"))
    return render_template(
        "_form_page.html",
        form=form,
        heading=f"Enrolment rule: {rule.role.code} {rule.role.name} → {code}",
        subheading="Holders of the role are enrolled on the path when they take it.",
        back=url_for("learning.authoring_path", code=code, _anchor="rules"),
    )


@bp.route(f"{PREFIX}/<code>/rules/<int:rule_id>/active", methods=["POST"])
@allow(TRAINER)
def authoring_rule_active(code: str, rule_id: int):
    path = _path(code)
    rule = _rule(path, rule_id)
    require_confirmation()
    active = request.form.get("active") == "1"
    done, _ = run(
        lambda: authoring.set_rule_active(db.session(), rule, active, actor_id=current_user.id)
    )
    if done:
        flash(f"Rule for {rule.role.code} {'reactivated' if active else 'deactivated'}.", "success")
    return redirect(url_for("learning.authoring_path", code=code, _anchor="rules"))
