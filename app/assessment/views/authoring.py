"""Assessment views: authoring, for trainers. Question banks (the list with item counts, a
bank's page with its items and versions, an item in full), the draft editor (a new bank,
details, add, edit and retire items, publish after a review, discard), preview as a learner
(one item or a whole version: no keys, no rationales), GIFT import into a new bank or a
draft (a preview first; nothing saved until the trainer imports) and export of any version;
and the assessment builder (the list, a new assessment, settings, sections, certified
levels). A published bank version is shown, never edited: "Open a draft" makes a copy.
"""

from __future__ import annotations

import random

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from app import clock
from app.access import TRAINER, allow
from app.assessment import authoring
from app.assessment import authoring_queries as queries
from app.assessment.attempt_queries import Stimulus, shown_item
from app.assessment.attempts import presentation_for
from app.assessment.bank_queries import bank_by_code, content_of, published_bank_version
from app.assessment.content import (
    ASSERTION_REASON_OPTIONS,
    CERTIFICATION_RULE,
    ITEM_TYPES,
    TYPE_LABELS,
    BankContent,
    ItemContent,
    item_from_data,
)
from app.assessment.definition import (
    FEEDBACK_LABELS,
    UNIT_LABELS,
    SectionDefinition,
    competency_coverage,
    definition_findings,
    items_per_form,
    section_pools,
)
from app.assessment.forms import authoring as forms
from app.assessment.gift import bank_to_gift, parse_gift
from app.assessment.models import Assessment, AttemptItem, BankStatus, BankVersion, QuestionBank
from app.assessment.views import bp
from app.errors import DomainError
from app.extensions import db
from app.forms import ConfirmForm
from app.learning.lessons import render_lesson
from app.learning.path_queries import competency_choices
from app.viewutil import (
    Confirmation,
    apply_domain_error,
    confirmation_page,
    confirmed,
    require_confirmation,
    run,
)

BANKS = "/authoring/banks"
ASSESSMENTS = "/authoring/assessments"


def _bank(code: str) -> QuestionBank:
    return bank_by_code(db.session(), code) or abort(404)


def _version(bank: QuestionBank, number: int) -> BankVersion:
    return queries.version_by_number(db.session(), bank.id, number) or abort(404)


def _draft(bank: QuestionBank) -> BankVersion | None:
    return queries.draft_of(db.session(), bank.id)


def _competencies() -> list[tuple[str, str]]:
    return [(c.value, c.label) for c in competency_choices(db.session())]


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


# --- banks ---------------------------------------------------------------------------------------


@bp.route(BANKS)
@allow(TRAINER)
def authoring_banks():
    return render_template(
        "assessment/authoring/banks.html",
        banks=queries.bank_rows(db.session()),
        type_labels=TYPE_LABELS,
    )


@bp.route(f"{BANKS}/new", methods=["GET", "POST"])
@allow(TRAINER)
def authoring_bank_new():
    form = forms.NewBankForm()
    if request.method == "GET":
        form.author.data = current_user.person.full_name
    if form.validate_on_submit():

        def create():
            topics = authoring.parse_topics(form.topics.data)
            return authoring.create_bank(
                db.session(),
                code=form.code.data,
                title=form.title.data,
                format=form.format.data,
                author=form.author.data,
                topics=topics,
                original_work=form.original_work.data,
                actor_id=current_user.id,
            )

        done, draft = run(create, form)
        if done and draft is not None:
            flash(f"Bank {draft.bank.code} created with an empty draft: add its items.", "success")
            return redirect(url_for("assessment.authoring_bank", code=draft.bank.code))
    return render_template(
        "_form_page.html",
        form=form,
        heading="New question bank",
        subheading="It starts as a draft; nothing is drawn from it until you publish it.",
        back=url_for("assessment.authoring_banks"),
    )


def _shown_version(bank: QuestionBank) -> BankVersion:
    number = _int(request.args.get("version"))
    if number is not None:
        return _version(bank, number)
    versions = queries.versions_of(db.session(), bank.id)
    draft = next((v for v in versions if v.status == BankStatus.DRAFT), None)
    published = next((v for v in versions if v.status == BankStatus.PUBLISHED), None)
    return draft or published or versions[-1]


@bp.route(f"{BANKS}/<code>")
@allow(TRAINER)
def authoring_bank(code: str):
    session = db.session()
    bank = _bank(code)
    version = _shown_version(bank)
    filters = {
        "topic": request.args.get("topic") or None,
        "competency": request.args.get("competency") or None,
        "type": request.args.get("type") if request.args.get("type") in ITEM_TYPES else None,
    }
    every = queries.version_items(session, version)
    rows = [
        r
        for r in every
        if (not filters["topic"] or r.topic == filters["topic"])
        and (not filters["competency"] or r.competency == filters["competency"])
        and (not filters["type"] or r.type == filters["type"])
    ]
    by_type, by_topic = queries.item_counts(session, [version.id])[version.id]
    editing = version.status == BankStatus.DRAFT
    return render_template(
        "assessment/authoring/bank.html",
        bank=bank,
        version=version,
        versions=queries.versions_of(session, bank.id),
        items=rows,
        filters=filters,
        by_type=by_type,
        by_topic=by_topic,
        total=len(every),
        topics=version.topics,
        competencies=sorted({r.competency for r in every}),
        type_labels=TYPE_LABELS,
        editing=editing,
        problems=authoring.publish_problems(session, bank, version) if editing else [],
        draft=_draft(bank),
        assessments=queries.assessments_drawing_from(session, bank.id),
        token=forms.DraftTokenForm(draft_hash=version.content_hash),
        confirm=ConfirmForm(),
    )


@bp.route(f"{BANKS}/<code>/versions/<int:number>/items/<item>")
@allow(TRAINER)
def authoring_item(code: str, number: int, item: str):
    bank = _bank(code)
    version = _version(bank, number)
    found = queries.item_in_version(db.session(), version, item) or abort(404)
    return render_template(
        "assessment/authoring/item.html",
        bank=bank,
        version=version,
        found=found,
        item=found.item,
        html=_item_html(found.item),
        case=render_lesson(found.scenario.case) if found.scenario else None,
        type_labels=TYPE_LABELS,
        ar_options=ASSERTION_REASON_OPTIONS,
        editing=version.status == BankStatus.DRAFT,
        token=forms.ItemTokenForm(version_id=str(found.version_id)),
    )


def _item_html(item: ItemContent) -> dict:
    return {
        key: render_lesson(getattr(item, key)) if getattr(item, key) else None
        for key in ("stem", "statement", "assertion", "reason", "feedback", "notes")
    }


# --- preview as a learner ----------------------------------------------------------------------


def _learner_items(content: BankContent, only: str | None = None) -> list:
    """The version's items as a learner would see them (``attempt_queries.shown_item``: no
    key, no rationale, choices in a shuffled order that never gives the key away), grouped
    under their scenario's case; the data packs by id."""
    packs = {
        d.id: Stimulus(n, d.title, render_lesson(d.content))
        for n, d in enumerate(content.data_packs)
    }
    rng = random.Random(content.code)
    cases: dict[str, Stimulus] = {}
    out = []
    number = 0
    for _where, item, scenario in content.all_items():
        if only is not None and item.id != only:
            continue
        number += 1
        row = AttemptItem(
            id=number,
            section=0,
            revision=0,
            answer=None,
            presentation=presentation_for(item, rng, shuffle=True),
        )
        if scenario is not None and scenario.id not in cases:  # each case rendered once
            cases[scenario.id] = Stimulus(len(cases), scenario.title, render_lesson(scenario.case))
        case = cases[scenario.id] if scenario is not None else None
        out.append(
            shown_item(
                row, item, number, case, packs.get(item.data_pack) if item.data_pack else None
            )
        )
    return out


@bp.route(f"{BANKS}/<code>/versions/<int:number>/preview")
@allow(TRAINER)
def authoring_preview(code: str, number: int):
    bank = _bank(code)
    version = _version(bank, number)
    content = content_of(db.session(), version)
    return render_template(
        "assessment/authoring/preview.html",
        bank=bank,
        version=version,
        items=_learner_items(content),
        single=False,
    )


@bp.route(f"{BANKS}/<code>/versions/<int:number>/items/<item>/preview")
@allow(TRAINER)
def authoring_item_preview(code: str, number: int, item: str):
    bank = _bank(code)
    version = _version(bank, number)
    content = content_of(db.session(), version)
    items = _learner_items(content, only=item)
    if not items:
        abort(404)
    return render_template(
        "assessment/authoring/preview.html",
        bank=bank,
        version=version,
        items=items,
        single=item,
    )


@bp.route(f"{BANKS}/<code>/versions/<int:number>/gift")
@allow(TRAINER)
def authoring_gift_export(code: str, number: int):
    bank = _bank(code)
    version = _version(bank, number)
    text = bank_to_gift(content_of(db.session(), version))
    return Response(
        text,
        mimetype="text/plain",
        headers={
            "Content-Disposition": f'attachment; filename="{bank.code.lower()}-v{number}.gift"',
            "Cache-Control": "no-store",
        },
    )


# --- the draft ---------------------------------------------------------------------------------


def _to_draft(bank: QuestionBank, anchor: str | None = None) -> BaseResponse:
    return redirect(url_for("assessment.authoring_bank", code=bank.code, _anchor=anchor))


@bp.route(f"{BANKS}/<code>/draft", methods=["POST"])
@allow(TRAINER)
def authoring_draft_open(code: str):
    bank = _bank(code)
    require_confirmation()
    done, draft = run(lambda: authoring.open_draft(db.session(), bank, actor_id=current_user.id))
    if done and draft is not None:
        flash(
            f"Draft version {draft.number} opened as a copy. Learners and assessments keep the "
            "published version until you publish this one.",
            "success",
        )
    return _to_draft(bank)


@bp.route(f"{BANKS}/<code>/draft/details", methods=["GET", "POST"])
@allow(TRAINER)
def authoring_draft_details(code: str):
    bank = _bank(code)
    draft = _draft(bank) or abort(404)
    form = forms.DraftDetailsForm(data=authoring.draft_details_values(draft))
    if form.validate_on_submit():

        def save():
            return authoring.update_draft_details(
                db.session(),
                bank,
                expected_hash=form.draft_hash.data,
                title=form.title.data,
                author=form.author.data,
                original_work=form.original_work.data,
                topics=authoring.parse_topics(form.topics.data),
                actor_id=current_user.id,
            )

        done, _ = run(save, form)
        if done:
            flash("Details saved in the draft.", "success")
            return _to_draft(bank)
    return render_template(
        "_form_page.html",
        form=form,
        heading=f"Details of {bank.code}, draft version {draft.number}",
        subheading="A topic an item still uses cannot be removed.",
        back=url_for("assessment.authoring_bank", code=bank.code),
    )


def _item_form_for(bank: QuestionBank, content: BankContent, kind: str, *, new: bool, data=None):
    return forms.item_form(
        kind,
        topics=[(c, f"{c} — {n}") for c, n in content.topics],
        competencies=_competencies(),
        data_packs=[(d.id, f"{d.id} — {d.title}") for d in content.data_packs],
        scenarios=[(s.id, f"{s.id} — {s.title}") for s in content.scenarios] if new else (),
        new=new,
        data=data,
    )


def _save_item(
    bank: QuestionBank, content: BankContent, form, kind: str, item_id: str, *, author: str
):
    """Check the posted item (its problems shown at their fields) and save it; the saved
    item, or None. ``author``: the item's own (an edit keeps it), else the bank's."""
    new = "id" in form  # only the new-item form asks for an id
    data = forms.item_data(form, kind, item_id=item_id, author=author)
    item = item_from_data(data, default_author=content.author)
    problems = authoring.item_errors(db.session(), content, item)
    for problem in problems:
        field = getattr(form, forms.field_of(problem.key), None) or form.submit
        field.errors = [*field.errors, f"{problem.key}: {problem.message}"]
    if problems:
        return None
    scenario = getattr(form, "scenario", None)
    done, saved = run(
        lambda: authoring.save_item(
            db.session(),
            bank,
            item,
            expected_version_id=None if new else _int(form.version_id.data),
            scenario=(scenario.data or None) if scenario is not None else None,
            actor_id=current_user.id,
        ),
        form,
    )
    return saved if done else None


@bp.route(f"{BANKS}/<code>/draft/items/new", methods=["GET", "POST"])
@allow(TRAINER)
def authoring_item_new(code: str):
    bank = _bank(code)
    draft = _draft(bank) or abort(404)
    kind = request.args.get("type")
    if kind not in ITEM_TYPES:
        return render_template(
            "assessment/authoring/item_type.html", bank=bank, draft=draft, type_labels=TYPE_LABELS
        )
    content = content_of(db.session(), draft)
    form = _item_form_for(bank, content, kind, new=True)
    if request.method == "GET":
        form.id.data = authoring.suggested_item_id(db.session(), bank, content)
    if form.validate_on_submit():
        item_id = form.id.data.strip().upper()
        saved = _save_item(bank, content, form, kind, item_id, author=content.author)
        if saved is not None:
            flash(f"Item {saved.id} added to the draft.", "success")
            return _to_draft(bank, f"i-{saved.id}")
    return render_template(
        "assessment/authoring/item_form.html",
        bank=bank,
        draft=draft,
        form=form,
        kind=kind,
        item_id=None,
        type_labels=TYPE_LABELS,
    )


@bp.route(f"{BANKS}/<code>/draft/items/<item>/edit", methods=["GET", "POST"])
@allow(TRAINER)
def authoring_item_edit(code: str, item: str):
    bank = _bank(code)
    draft = _draft(bank) or abort(404)
    found = queries.item_in_version(db.session(), draft, item) or abort(404)
    content = content_of(db.session(), draft)
    values = authoring.item_form_values(found.item) | {"version_id": str(found.version_id)}
    form = _item_form_for(bank, content, found.item.type, new=False, data=values)
    if form.validate_on_submit():
        saved = _save_item(bank, content, form, found.item.type, item, author=found.item.author)
        if saved is not None:
            flash(f"Item {item} saved in the draft.", "success")
            return _to_draft(bank, f"i-{item}")
    return render_template(
        "assessment/authoring/item_form.html",
        bank=bank,
        draft=draft,
        form=form,
        kind=found.item.type,
        item_id=item,
        type_labels=TYPE_LABELS,
    )


@bp.route(f"{BANKS}/<code>/draft/items/<item>/retire", methods=["POST"])
@allow(TRAINER)
def authoring_item_retire(code: str, item: str):
    bank = _bank(code)
    form = forms.ItemTokenForm()
    if not form.validate_on_submit():
        abort(400)
    if not confirmed():
        return confirmation_page(
            Confirmation(
                title=f"Retire item {item}?",
                message=f"Item {item} leaves the draft of {bank.code}. The versions already "
                "published, and every attempt that drew it, keep it; its id is never reused.",
                action=url_for("assessment.authoring_item_retire", code=code, item=item),
                button="Retire the item",
                back=url_for("assessment.authoring_bank", code=code, _anchor=f"i-{item}"),
                fields=[("version_id", form.version_id.data or "")],
            )
        )
    done, _ = run(
        lambda: authoring.retire_item(
            db.session(),
            bank,
            item,
            expected_version_id=_int(form.version_id.data),
            actor_id=current_user.id,
        )
    )
    if done:
        flash(f"Item {item} retired from the draft.", "success")
    return _to_draft(bank)


@bp.route(f"{BANKS}/<code>/draft/publish", methods=["GET", "POST"])
@allow(TRAINER)
def authoring_draft_publish(code: str):
    bank = _bank(code)
    draft = _draft(bank) or abort(404)
    form = forms.DraftTokenForm(draft_hash=draft.content_hash)
    if form.validate_on_submit():
        done, published = run(
            lambda: authoring.publish_draft(
                db.session(), bank, expected_hash=form.draft_hash.data, actor_id=current_user.id
            )
        )
        if done and published is not None:
            flash(
                f"Version {published.number} of {bank.code} published. It can no longer "
                "change; assessments draw from it from now on.",
                "success",
            )
        return _to_draft(bank)
    session = db.session()
    return render_template(
        "assessment/authoring/publish.html",
        bank=bank,
        draft=draft,
        problems=authoring.publish_problems(session, bank, draft),
        by_type=queries.item_counts(session, [draft.id])[draft.id][0],
        type_labels=TYPE_LABELS,
        previous=published_bank_version(session, bank.id),
        assessments=queries.assessments_drawing_from(session, bank.id),
        form=form,
    )


@bp.route(f"{BANKS}/<code>/draft/discard", methods=["POST"])
@allow(TRAINER)
def authoring_draft_discard(code: str):
    bank = _bank(code)
    form = forms.DraftTokenForm()
    if not form.validate_on_submit():
        abort(400)
    if not confirmed():
        return confirmation_page(
            Confirmation(
                title=f"Discard the draft of {bank.code}?",
                message="Every change in the draft is lost. The published version stays as it is.",
                action=url_for("assessment.authoring_draft_discard", code=code),
                button="Discard the draft",
                back=url_for("assessment.authoring_bank", code=code),
                fields=[("draft_hash", form.draft_hash.data or "")],
            )
        )
    done, number = run(
        lambda: authoring.discard_draft(db.session(), bank, expected_hash=form.draft_hash.data)
    )
    if done:
        flash(f"Draft version {number} discarded.", "success")
    return _to_draft(bank)


# --- GIFT import -------------------------------------------------------------------------------


def _gift_text(form) -> tuple[str | None, str | None]:
    """(the file's text, a problem): from the upload, else from the preview's hidden copy."""
    upload = form.file.data
    if upload is not None and getattr(upload, "filename", None):
        data = upload.read(forms.MAX_GIFT_BYTES + 1)
        if len(data) > forms.MAX_GIFT_BYTES:
            return None, f"The file is larger than {forms.MAX_GIFT_BYTES // 1024} kB."
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return None, "The file is not UTF-8 text: save it as UTF-8 and upload it again."
        form.filename.data = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
        form.gift_text.data = text
        return text, None
    if form.gift_text.data:
        if len(form.gift_text.data.encode()) > forms.MAX_GIFT_BYTES:
            return None, f"The file is larger than {forms.MAX_GIFT_BYTES // 1024} kB."
        return form.gift_text.data, None
    return None, "Choose the GIFT file to import."


def _gift_inputs(form) -> tuple[authoring.GiftTarget, authoring.ItemDefaults]:
    target = authoring.GiftTarget(
        bank=form.bank.data or None,
        code=form.code.data or "",
        title=form.title.data or "",
        format=form.format.data,
        author=form.author.data or "",
        original_work=bool(form.original_work.data),
    )
    defaults = authoring.ItemDefaults(
        topic=(form.topic.data or "").strip().upper(),
        topic_name=form.topic_name.data or "",
        competency=form.competency.data,
        level=int(form.level.data or 0),
    )
    return target, defaults


@bp.route(f"{BANKS}/import", methods=["GET", "POST"])
@allow(TRAINER)
def authoring_gift_import():
    """Upload, preview (nothing saved), then import. Cancelling is leaving the page."""
    session = db.session()
    form = forms.gift_import_form(banks=queries.bank_choices(session), competencies=_competencies())
    if request.method == "GET":
        form.author.data = current_user.person.full_name
    plan = problems = None
    if form.validate_on_submit():
        text, problem = _gift_text(form)
        if problem:
            form.file.errors = [*form.file.errors, problem]
        else:
            parsed = parse_gift(text or "", skip_unsupported=True)
            target, defaults = _gift_inputs(form)
            if form.confirm.data and parsed.questions:
                done, result = run(
                    lambda: authoring.import_gift(
                        session, parsed, target=target, defaults=defaults, actor_id=current_user.id
                    ),
                    form,
                )
                if done and result is not None:
                    draft, made = result
                    left_out = f"; {len(made.skipped)} question(s) left out" if made.skipped else ""
                    flash(
                        f"{len(made.items)} item(s) imported into draft version {draft.number} of "
                        f"{made.bank_code} ({made.added} added, {made.replaced} replaced"
                        f"{left_out}). Fix what each one still lacks, then publish.",
                        "success",
                    )
                    return redirect(url_for("assessment.authoring_bank", code=made.bank_code))
            try:  # a preview writes nothing
                plan = authoring.plan_gift_import(session, parsed, target=target, defaults=defaults)
            except DomainError as error:
                apply_domain_error(form, error)
            session.rollback()
            problems = parsed.skipped
    return render_template(
        "assessment/authoring/gift_import.html",
        form=form,
        plan=plan,
        skipped=problems,
        type_labels=TYPE_LABELS,
    )


# --- assessments -------------------------------------------------------------------------------


def _assessment(code: str) -> Assessment:
    return queries.assessment_by_code(db.session(), code) or abort(404)


@bp.route(ASSESSMENTS)
@allow(TRAINER)
def authoring_assessments():
    return render_template(
        "assessment/authoring/assessments.html", rows=queries.assessment_rows(db.session())
    )


@bp.route(f"{ASSESSMENTS}/new", methods=["GET", "POST"])
@allow(TRAINER)
def authoring_assessment_new():
    form = forms.NewAssessmentForm()
    if form.validate_on_submit():
        done, made = run(
            lambda: authoring.create_assessment(
                db.session(),
                code=form.code.data,
                title=form.title.data,
                actor_id=current_user.id,
                now=clock.now(),
            ),
            form,
        )
        if done and made is not None:
            flash(f"Assessment {made.code} created as a draft: add its sections.", "success")
            return redirect(url_for("assessment.authoring_assessment", code=made.code))
    return render_template(
        "_form_page.html",
        form=form,
        heading="New assessment",
        subheading="It starts as a draft with three attempts, 24 hours apart, and feedback "
        "after submission; change any of that in its settings.",
        back=url_for("assessment.authoring_assessments"),
    )


@bp.route(f"{ASSESSMENTS}/<code>")
@allow(TRAINER)
def authoring_assessment(code: str):
    session = db.session()
    assessment = _assessment(code)
    definition = queries.definition_of(assessment)
    refs = queries.references(session, {s.bank for s in definition.sections})
    banks = refs.banks or {}
    findings = definition_findings(definition, refs)
    pools = section_pools(definition, banks)
    certify_form = forms.certification_form(competencies=_competencies())
    certify_form.row_version.data = str(assessment.row_version)
    return render_template(
        "assessment/authoring/assessment.html",
        assessment=assessment,
        d=definition,
        sections=list(zip(definition.sections, pools, strict=True)),
        coverage=competency_coverage(definition, banks),
        items=items_per_form(definition, banks),
        findings=findings,
        attempts=queries.attempts_of(session, assessment.id),
        wait=_duration(definition.wait_minutes),
        feedback_labels=FEEDBACK_LABELS,
        unit_labels=UNIT_LABELS,
        rule=CERTIFICATION_RULE,
        certify_form=certify_form,
        token=forms.RowVersionForm(row_version=str(assessment.row_version)),
    )


def _duration(minutes: int) -> str:
    """Minutes in the largest whole unit: ``1440`` -> ``24 hours``."""
    for size, unit in ((24 * 60 * 7, "week"), (60, "hour"), (1, "minute")):
        if minutes % size == 0 and minutes >= size:
            n = minutes // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{minutes} minutes"


@bp.route(f"{ASSESSMENTS}/<code>/settings", methods=["GET", "POST"])
@allow(TRAINER)
def authoring_assessment_settings(code: str):
    session = db.session()
    assessment = _assessment(code)
    modules = queries.assessment_module_choices(session)
    form = forms.settings_form(modules=modules, data=authoring.settings_values(assessment))
    if form.validate_on_submit():
        done, _ = run(
            lambda: authoring.update_settings(
                session,
                assessment,
                expected_version=_int(form.row_version.data),
                now=clock.now(),
                title=form.title.data.strip(),
                summary=(form.summary.data or "").strip(),
                status=form.status.data,
                module=form.module.data or None,
                pass_percent=form.pass_percent.data,
                time_limit_minutes=form.time_limit_minutes.data,
                grace_seconds=form.grace_seconds.data,
                attempt_limit=form.attempt_limit.data,
                wait_minutes=form.wait_minutes.data,
                shuffle_items=bool(form.shuffle_items.data),
                shuffle_options=bool(form.shuffle_options.data),
                feedback=form.feedback.data,
                opens_at=form.opens_at.data,
                closes_at=form.closes_at.data,
            ),
            form,
        )
        if done:
            flash(f"Settings of {code} saved.", "success")
            return redirect(url_for("assessment.authoring_assessment", code=code))
    return render_template(
        "_form_page.html",
        form=form,
        heading=f"Settings of {assessment.code}",
        subheading="Attempts already started keep their deadline and pass mark.",
        back=url_for("assessment.authoring_assessment", code=code),
    )


def _section_page(assessment: Assessment, number: int | None):
    session = db.session()
    form = forms.section_form(
        banks=queries.bank_choices(session),
        data=authoring.section_form_values(assessment, number),
    )
    if form.validate_on_submit():
        section = SectionDefinition(**forms.section_values(form))
        done, _ = run(
            lambda: authoring.save_section(
                session,
                assessment,
                section,
                position=number - 1 if number else None,
                expected_version=_int(form.row_version.data),
                now=clock.now(),
            ),
            form,
        )
        if done:
            flash(f"Section saved in {assessment.code}.", "success")
            return redirect(url_for("assessment.authoring_assessment", code=assessment.code))
    return render_template(
        "_form_page.html",
        form=form,
        heading=f"Section {number} of {assessment.code}" if number else "Add a section",
        subheading="It draws from the bank's published version; the bank must hold enough "
        "items (or scenarios) that fit its filters.",
        back=url_for("assessment.authoring_assessment", code=assessment.code),
    )


@bp.route(f"{ASSESSMENTS}/<code>/sections/new", methods=["GET", "POST"])
@allow(TRAINER)
def authoring_section_new(code: str):
    return _section_page(_assessment(code), None)


@bp.route(f"{ASSESSMENTS}/<code>/sections/<int:number>", methods=["GET", "POST"])
@allow(TRAINER)
def authoring_section_edit(code: str, number: int):
    assessment = _assessment(code)
    if not 1 <= number <= len(assessment.sections):
        abort(404)
    return _section_page(assessment, number)


@bp.route(f"{ASSESSMENTS}/<code>/sections/<int:number>/remove", methods=["POST"])
@allow(TRAINER)
def authoring_section_remove(code: str, number: int):
    assessment = _assessment(code)
    form = forms.RowVersionForm()
    if not form.validate_on_submit():
        abort(400)
    done, _ = run(
        lambda: authoring.remove_section(
            db.session(),
            assessment,
            number - 1,
            expected_version=_int(form.row_version.data),
            now=clock.now(),
        )
    )
    if done:
        flash(f"Section {number} removed from {code}.", "success")
    return redirect(url_for("assessment.authoring_assessment", code=code))


@bp.route(f"{ASSESSMENTS}/<code>/certifies", methods=["POST"])
@allow(TRAINER)
def authoring_certify(code: str):
    assessment = _assessment(code)
    form = forms.certification_form(competencies=_competencies())
    if form.validate_on_submit():
        done, _ = run(
            lambda: authoring.save_certification(
                db.session(),
                assessment,
                form.competency.data,
                int(form.level.data),
                expected_version=_int(form.row_version.data),
                now=clock.now(),
            )
        )
        if done:
            flash(f"A pass of {code} now certifies {form.competency.data}.", "success")
    else:
        flash("Choose a competency and a level.", "danger")
    return redirect(url_for("assessment.authoring_assessment", code=code, _anchor="certifies"))


@bp.route(f"{ASSESSMENTS}/<code>/certifies/<competency>/remove", methods=["POST"])
@allow(TRAINER)
def authoring_certify_remove(code: str, competency: str):
    assessment = _assessment(code)
    form = forms.RowVersionForm()
    if not form.validate_on_submit():
        abort(400)
    done, _ = run(
        lambda: authoring.remove_certification(
            db.session(),
            assessment,
            competency,
            expected_version=_int(form.row_version.data),
            now=clock.now(),
        )
    )
    if done:
        flash(f"A pass of {code} no longer certifies {competency}.", "success")
    return redirect(url_for("assessment.authoring_assessment", code=code, _anchor="certifies"))
