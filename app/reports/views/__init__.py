"""The reports blueprint (``/reports``). Its views are split by report, each module adding
routes to ``bp``. Every report is for managers (their own subtree), trainers and admins
(everyone); learners have none."""

from __future__ import annotations

from flask import Blueprint

from app.extensions import db
from app.reports.scope import plan_afresh

bp = Blueprint("reports", __name__, template_folder="../templates", url_prefix="/reports")


@bp.before_request
def _reports_are_planned_afresh() -> None:
    """A report's statements are planned for their parameters (``scope.plan_afresh``)."""
    plan_afresh(db.session())


from app.reports.views import (  # noqa: E402,F401  (each module registers its routes on bp)
    coverage,
    heatmap,
    readiness,
    succession,
)
