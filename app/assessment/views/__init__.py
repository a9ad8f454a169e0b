"""The assessment blueprint. Its views are split by area, each module adding routes to
``bp``: ``authoring`` (trainers' banks, item editor, preview, assessment builder, GIFT
import and export); ``taking`` (the learner's assessments and attempts: start, answer,
submit, result and review; the results of a manager's people, or everyone's for trainers);
``statistics`` (item statistics: facility, discrimination, alpha, flags; by competency and
by org unit; CSV and XLSX exports)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("assessment", __name__, template_folder="../templates")

from app.assessment.views import (  # noqa: E402,F401  (each module registers its routes on bp)
    authoring,
    statistics,
    taking,
)
