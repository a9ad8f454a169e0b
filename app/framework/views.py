"""The competency framework pages: everyone reads the published version; trainers edit a
draft copy of it (competencies, scale and caps, role profiles), publish it as the next
version and compare any two versions."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app import clock
from app.access import SIGNED_IN, TRAINER, allow, any_of
from app.db import record_id
from app.extensions import db
from app.forms import ConfirmForm
from app.framework import forms
from app.framework import queries as framework_queries
from app.framework import services as authoring
from app.framework.diff import diff as compare_contents
from app.framework.models import CAPPABLE, SOURCE_LABELS, FrameworkVersion
from app.framework.versions import (
    content_of,
    current_draft,
    published_version,
    version_by_number,
)
from app.org.models import Role
from app.viewutil import Confirmation, confirmation_page, confirmed, require_confirmation, run

bp = Blueprint("framework", __name__, url_prefix="/framework", template_folder="templates")

SOURCE_NAMES = {source.value: label for source, label in SOURCE_LABELS.items()}


class NoDraft(Exception):
    """A draft page was asked for while no draft is open."""


@bp.errorhandler(NoDraft)
def _no_draft(_error):
    flash("No draft is open. Start one from the published version to make changes.", "warning")
    return redirect(url_for("framework.browse"))


def _draft() -> FrameworkVersion:
    draft = current_draft(db.session())
    if draft is None:
        raise NoDraft
    return draft


def _published_content():
    version = published_version(db.session())
    return content_of(db.session(), version) if version else None


# --- reading ----------------------------------------------------------------------------------


@bp.route("")
@allow(SIGNED_IN)
def browse():
    version = published_version(db.session())
    trainer = any_of(current_user, [TRAINER])
    return render_template(
        "framework/browse.html",
        editing=False,
        source_names=SOURCE_NAMES,
        page=framework_queries.framework_page(db.session(), version) if version else None,
        draft=current_draft(db.session()) if trainer else None,
        versions=framework_queries.version_rows(db.session())[:5] if trainer else None,
        confirm=ConfirmForm(),
    )


@bp.route("/versions")
@allow(TRAINER)
def versions():
    return render_template(
        "framework/versions.html", versions=framework_queries.version_rows(db.session())
    )


@bp.route("/diff")
@allow(TRAINER)
def diff():
    chosen = request.args.get("from", type=record_id), request.args.get("to", type=record_id)
    numbers = (
        (chosen[0], chosen[1])
        if chosen[0] is not None and chosen[1] is not None
        else framework_queries.default_comparison(db.session())
    )
    result = old = new = None
    if numbers:
        old, new = (version_by_number(db.session(), n) for n in numbers)
        if old is None or new is None:
            abort(404)
        result = compare_contents(content_of(db.session(), old), content_of(db.session(), new))
    return render_template(
        "framework/diff.html",
        diff=result,
        old=old,
        new=new,
        source_names=SOURCE_NAMES,
        versions=framework_queries.version_rows(db.session()),
        role_names=framework_queries.role_names(db.session()),
    )


# --- the draft --------------------------------------------------------------------------------


def _draft_page(draft: FrameworkVersion, publish_form=None):
    page = framework_queries.framework_page(db.session(), draft)
    published = _published_content()
    changes = compare_contents(published, page.content) if published else None
    return render_template(
        "framework/browse.html",
        editing=True,
        page=page,
        draft=draft,
        changes=changes,
        source_names=SOURCE_NAMES,
        publish_form=publish_form or forms.PublishForm(),
        confirm=ConfirmForm(),
        edited={c.code for c in changes.changed} if changes else set(),
        added={c.code for c in changes.added} if changes else set(),
    )


@bp.route("/draft")
@allow(TRAINER)
def draft():
    return _draft_page(_draft())


@bp.route("/draft", methods=["POST"])
@allow(TRAINER)
def draft_create():
    require_confirmation()
    done, draft = run(lambda: authoring.create_draft(db.session(), actor_id=current_user.id))
    if not done or draft is None:
        return redirect(url_for("framework.browse"))
    flash(
        f"Draft version {draft.number} opened as a copy of the published version. Nobody "
        "else sees your changes until you publish.",
        "success",
    )
    return redirect(url_for("framework.draft"))


@bp.route("/draft/publish", methods=["POST"])
@allow(TRAINER)
def draft_publish():
    draft = _draft()
    form = forms.PublishForm()
    if not form.validate_on_submit():
        return _draft_page(draft, form)
    if not confirmed():
        impact = framework_queries.publish_impact(db.session(), draft, clock.today())
        details = impact.sentences() or [
            f"Nobody's requirements change: the role profiles ask the same of the "
            f"{impact.people} people with a current role."
        ]
        return confirmation_page(
            Confirmation(
                title=f"Publish draft version {draft.number}?",
                message="It becomes the framework everyone sees and is measured against, "
                "and the version published now is retired. Compared with it, for the "
                f"{impact.people} people with a current role:",
                details=details,
                action=url_for("framework.draft_publish"),
                fields=[("note", form.note.data)],
                button=f"Publish version {draft.number}",
                back=url_for("framework.draft"),
                danger=False,
            )
        )
    done, version = run(
        lambda: authoring.publish(
            db.session(), draft, actor_id=current_user.id, note=form.note.data
        ),
        form,
    )
    if not done or version is None:
        return _draft_page(_draft(), form)
    flash(f"Version {version.number} published; it is now the framework everyone sees.", "success")
    return redirect(url_for("framework.browse"))


@bp.route("/draft/discard", methods=["POST"])
@allow(TRAINER)
def draft_discard():
    draft = _draft()
    require_confirmation()
    done, number = run(lambda: authoring.discard_draft(db.session(), draft))
    if not done:
        return redirect(url_for("framework.draft"))
    flash(f"Draft version {number} discarded.", "success")
    return redirect(url_for("framework.browse"))


# --- competencies -----------------------------------------------------------------------------


def _competency_form(draft: FrameworkVersion, *, new: bool, data: dict | None = None):
    page = framework_queries.framework_page(db.session(), draft)
    groups = [(g["code"], f"{g['code']} — {g['name']}") for g in page.content.groups]
    return forms.competency_form(groups=groups, level_names=page.level_names, new=new, data=data)


@bp.route("/draft/competencies/new", methods=["GET", "POST"])
@allow(TRAINER)
def competency_new():
    draft = _draft()
    form = _competency_form(draft, new=True, data={"group": request.args.get("group")})

    def render():
        return render_template(
            "framework/competency_form.html", form=form, draft=draft, competency=None
        )

    if form.validate_on_submit():
        done, comp = run(
            lambda: authoring.add_competency(
                db.session(),
                draft,
                code=form.code.data,
                group_code=form.group.data,
                name=form.name.data,
                description=form.description.data,
                indicators=forms.indicator_changes(form),
                boundary=form.boundary.data or "",
            ),
            form,
        )
        if not done or comp is None:
            return render()
        flash(f"{comp.code} {comp.name} added to the draft.", "success")
        return redirect(url_for("framework.draft", _anchor=f"c-{comp.code}"))
    return render()


@bp.route("/draft/competencies/<code>", methods=["GET", "POST"])
@allow(TRAINER)
def competency_edit(code: str):
    draft = _draft()
    comp = framework_queries.find_competency(db.session(), draft, code) or abort(404)
    form = _competency_form(draft, new=False, data=authoring.competency_values(comp))

    def render():
        return render_template(
            "framework/competency_form.html",
            form=form,
            draft=draft,
            competency=comp,
            remove_form=forms.RemoveCompetencyForm(),
            used_by=framework_queries.roles_requiring(db.session(), comp),
        )

    if form.validate_on_submit():
        done, _ = run(
            lambda: authoring.update_competency(
                db.session(),
                draft,
                code,
                name=form.name.data,
                description=form.description.data,
                group_code=form.group.data,
                indicators=forms.indicator_changes(form),
                boundary=form.boundary.data or "",
                seen=form.row_version.data,
            ),
            form,
        )
        if not done:
            return render()
        flash(f"{code} saved in the draft.", "success")
        return redirect(url_for("framework.draft", _anchor=f"c-{code}"))
    return render()


@bp.route("/draft/competencies/<code>/remove", methods=["POST"])
@allow(TRAINER)
def competency_remove(code: str):
    draft = _draft()
    comp = framework_queries.find_competency(db.session(), draft, code) or abort(404)
    form = forms.RemoveCompetencyForm()
    if not form.validate_on_submit():
        abort(400)
    used_by = framework_queries.roles_requiring(db.session(), comp)
    if not confirmed() and (form.with_requirements.data or not used_by):
        return confirmation_page(
            Confirmation(
                title=f"Remove {code} {comp.name} from the draft?",
                message="It leaves the draft; published versions and the evidence recorded "
                "against them keep it.",
                details=[f"The profiles of {', '.join(used_by)} lose their line for {code}."]
                if used_by
                else [],
                action=url_for("framework.competency_remove", code=code),
                fields=[("with_requirements", "y")] if form.with_requirements.data else [],
                button=f"Remove {code}",
                back=url_for("framework.competency_edit", code=code),
            )
        )
    done, roles = run(
        lambda: authoring.remove_competency(
            db.session(), draft, code, with_requirements=form.with_requirements.data
        )
    )
    if not done:
        return redirect(url_for("framework.competency_edit", code=code))
    flash(
        f"{code} removed from the draft"
        + (f", and from the profiles of {', '.join(roles)}." if roles else "."),
        "success",
    )
    return redirect(url_for("framework.draft"))


# --- scale and caps ---------------------------------------------------------------------------


@bp.route("/draft/scale", methods=["GET", "POST"])
@allow(TRAINER)
def scale():
    draft = _draft()
    content = content_of(db.session(), draft)
    level_names = {s["level"]: s["name"] for s in content.scale}
    caps = {s: content.caps[s] for s in CAPPABLE if s in content.caps}
    token = authoring.scale_values(db.session(), draft)["row_version"]
    form = forms.scale_form(levels=content.scale, caps=caps, level_names=level_names, token=token)

    def render():
        return render_template(
            "framework/scale_form.html",
            form=form,
            draft=draft,
            levels=[s["level"] for s in content.scale],
            sources=list(caps),
        )

    def action():
        authoring.save_scale(
            db.session(),
            draft,
            levels={
                n: (form[f"name_{n}"].data, form[f"descriptor_{n}"].data, form[f"note_{n}"].data)
                for n in (s["level"] for s in content.scale)
            },
            caps={source: form[f"cap_{source}"].data for source in caps},
            seen=form.row_version.data,
        )

    if form.validate_on_submit():
        done, _ = run(action, form)
        if not done:
            return render()
        flash("Scale and evidence caps saved in the draft.", "success")
        return redirect(url_for("framework.draft", _anchor="scale"))
    return render()


# --- role profiles ----------------------------------------------------------------------------


@bp.route("/draft/profiles/<int:role_id>", methods=["GET", "POST"])
@allow(TRAINER)
def profile(role_id: int):
    draft = _draft()
    role = db.get_or_404(Role, role_id)
    content = content_of(db.session(), draft)
    published = _published_content()
    codes = content.competency_codes()
    level_names = {s["level"]: s["name"] for s in content.scale}
    form = forms.profile_form(
        codes=codes,
        current=content.profiles.get(role.code, {}),
        level_names=level_names,
        token=authoring.profile_values(db.session(), draft, role.id)["row_version"],
    )

    def render():
        return render_template(
            "framework/profile_form.html",
            form=form,
            draft=draft,
            role=role,
            groups=content.groups,
            level_names=level_names,
            published=published.profiles.get(role.code, {}) if published else {},
        )

    if form.validate_on_submit():
        done, _ = run(
            lambda: authoring.set_profile(
                db.session(),
                draft,
                role.id,
                forms.profile_requirements(form, codes),
                seen=form.row_version.data,
            ),
            form,
        )
        if not done:
            return render()
        flash(f"Profile of {role.name} saved in the draft.", "success")
        return redirect(url_for("framework.draft", _anchor="profiles"))
    return render()


# --- the certificate catalogue ----------------------------------------------------------------


def _certificate_form(draft: FrameworkVersion, *, new: bool, data: dict | None = None):
    content = content_of(db.session(), draft)
    competencies = [(c["code"], c["name"]) for g in content.groups for c in g["competencies"]]
    level_names = {s["level"]: s["name"] for s in content.scale}
    form = forms.certificate_form(
        competencies=competencies, level_names=level_names, new=new, data=data
    )
    return form, content, [code for code, _ in competencies]


def _render_certificate_form(form, draft, content, cert):
    return render_template(
        "framework/certificate_form.html",
        form=form,
        draft=draft,
        certificate=cert,
        groups=content.groups,
        cap=content.caps.get("external_certificate"),
        confirm=ConfirmForm(),
    )


@bp.route("/draft/certificates/new", methods=["GET", "POST"])
@allow(TRAINER)
def certificate_new():
    draft = _draft()
    form, content, codes = _certificate_form(draft, new=True, data={"max_level": 2})
    if form.validate_on_submit():
        done, cert = run(
            lambda: authoring.add_certificate(
                db.session(),
                draft,
                code=form.code.data,
                name=form.name.data,
                issuer=form.issuer.data,
                expires=form.expires.data,
                max_level=form.max_level.data,
                evidences=forms.certificate_evidences(form, codes),
            ),
            form,
        )
        if done and cert is not None:
            flash(f"{cert.code} {cert.name} added to the draft's catalogue.", "success")
            return redirect(url_for("framework.draft", _anchor="certificates"))
    return _render_certificate_form(form, draft, content, None)


@bp.route("/draft/certificates/<code>", methods=["GET", "POST"])
@allow(TRAINER)
def certificate_edit(code: str):
    draft = _draft()
    cert = framework_queries.find_certificate(db.session(), draft, code) or abort(404)
    form, content, codes = _certificate_form(
        draft, new=False, data=authoring.certificate_values(db.session(), cert)
    )
    if form.validate_on_submit():
        done, _ = run(
            lambda: authoring.update_certificate(
                db.session(),
                draft,
                code,
                name=form.name.data,
                issuer=form.issuer.data,
                expires=form.expires.data,
                max_level=form.max_level.data,
                evidences=forms.certificate_evidences(form, codes),
                seen=form.row_version.data,
            ),
            form,
        )
        if done:
            flash(f"{code} saved in the draft's catalogue.", "success")
            return redirect(url_for("framework.draft", _anchor="certificates"))
    return _render_certificate_form(form, draft, content, cert)


@bp.route("/draft/certificates/<code>/remove", methods=["POST"])
@allow(TRAINER)
def certificate_remove(code: str):
    draft = _draft()
    cert = framework_queries.find_certificate(db.session(), draft, code) or abort(404)
    require_confirmation()
    if not confirmed():
        return confirmation_page(
            Confirmation(
                title=f"Remove {cert.code} {cert.name} from the draft's catalogue?",
                message="Once the draft is published, recording this certificate proves "
                "nothing. Certificates already recorded keep what their version's "
                "catalogue said.",
                action=url_for("framework.certificate_remove", code=code),
                button=f"Remove {code}",
                back=url_for("framework.certificate_edit", code=code),
            )
        )
    done, name = run(lambda: authoring.remove_certificate(db.session(), draft, code))
    if done:
        flash(f"{code} {name} removed from the draft's catalogue.", "success")
    return redirect(url_for("framework.draft", _anchor="certificates"))
