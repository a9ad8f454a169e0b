"""The reports blueprint (``/reports``). Its views are split by report, each module adding
routes to ``bp``. Every report is for managers (their own subtree), trainers and admins
(everyone); learners have none."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reports", __name__, template_folder="../templates", url_prefix="/reports")

from app.reports.views import (  # noqa: E402,F401  (each module registers its routes on bp)
    coverage,
    heatmap,
    readiness,
    succession,
)
