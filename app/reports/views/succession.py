"""Reports: bench strength and succession — per role, the people who do not hold it but are
ready now or within one level on at most N competencies (the role filter opens one role's
ranked bench); and for one person, the roles they are closest to. Each table is also an
export: the same URL ending in ``.csv`` or ``.xlsx`` (the bench: ``?table=`` roles or
people, the whole ranked list).

Managers see their own people only (a person beyond their reach: 403); trainers and admins
everyone; learners none."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_login import current_user

from app.access import allow, get_person_or_refuse
from app.extensions import db
from app.reports import succession as queries
from app.reports.forms import MAX_ID
from app.reports.forms_succession import BenchFilterForm, ClosestRolesForm
from app.reports.views import bp
from app.reports.views.exports import About, about_filters, day, picked
from app.reports.views.readiness import AUDIENCE, EXPORT, export, read_filters, scope_words
from app.viewutil import paginate


@bp.route("/bench")
@bp.route(f"/bench.{EXPORT}")
@allow(*AUDIENCE)
def bench(fmt: str | None = None):
    filtered = read_filters(BenchFilterForm(request.args))
    form, scope = filtered.form, filtered.scope
    assert isinstance(form, BenchFilterForm)
    if scope is None:
        if fmt:
            abort(filtered.status)
        return render_template(
            "reports/succession/bench.html", form=form, problem=filtered.problem
        ), filtered.status
    session = db.session()
    options = form.options()
    overview = queries.overview_table(queries.bench_overview(session, scope, options), options)
    role = overview.rows[0] if scope.role_id is not None and overview.rows else None
    if fmt:
        about = about_filters(
            "Bench strength",
            form,
            scope.on,
            extra=[
                ("Ready on", picked(form, "basis") or ""),
                ("Short by one level on", picked(form, "within") or ""),
                ("Who", picked(form, "who") or "Everyone"),
            ],
        )
        if request.args.get("table", "roles") == "roles":
            return export(overview, fmt, scope.on.isoformat(), about)
        if request.args.get("table") != "people" or role is None:
            abort(404)
        people = queries.bench_candidates(session, scope, options, role["role_id"])
        table = queries.candidates_table(role["code"], people)
        return export(table, fmt, scope.on.isoformat(), about)
    page, people_table = None, None
    if role is not None:
        total = role["ready_now"] + (role["within_reach"] or 0)
        page = paginate(queries.bench_list(scope, options, role["role_id"]), total=total)
        people = queries.candidates(session, scope.on, options, role["role_id"], page.items)
        people_table = queries.candidates_table(
            role["code"], people, first_rank=(page.page - 1) * page.per_page + 1
        )
    return render_template(
        "reports/succession/bench.html",
        form=form,
        scope=scope,
        subtitle=scope_words(scope, form),
        options=options,
        basis=queries.BASIS_LABELS[options.basis],
        overview=overview,
        role=role,
        page=page,
        people=people_table,
        args=form.query_args(),
        role_args={k: v for k, v in form.query_args().items() if k not in ("role", "page")},
    )


@bp.route("/people/<int:person_id>/closest-roles")
@bp.route(f"/people/<int:person_id>/closest-roles.{EXPORT}")
@allow(*AUDIENCE)
def closest_roles(person_id: int, fmt: str | None = None):
    if person_id > MAX_ID:  # larger than any id: nobody (never a query, never a 500)
        abort(404)
    person = get_person_or_refuse(db.session(), current_user, person_id)
    form = ClosestRolesForm(request.args)
    if not form.validate():
        if fmt:
            abort(400)
        return render_template(
            "reports/succession/closest.html", form=form, person=person, problem=True
        ), 400
    closest = queries.closest_roles(db.session(), person.id, form.as_at)
    table = queries.closest_table(person.employee_number, closest)
    if fmt:
        on = day(closest.on)
        who = f"{person.full_name} ({person.employee_number})"
        about = About("Closest roles", f"As at {on} · {who}", [("As at", on), ("Person", who)])
        return export(table, fmt, closest.on.isoformat(), about)
    return render_template(
        "reports/succession/closest.html",
        form=form,
        person=person,
        closest=closest,
        table=table,
        args={"on": closest.on.isoformat()},
    )
