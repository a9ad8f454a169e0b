"""The learning blueprint. Its views are split by area, each module adding routes to ``bp``:
``authoring`` (trainers' paths and versions), ``learner`` (my learning, path and lesson
pages, enrolment, progress), ``sessions`` (classroom and workshop sessions, bookings,
attendance), ``certificates`` (certificates of completion and their public check, external
certificates and CPD)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("learning", __name__, template_folder="../templates")

from app.learning.views import (  # noqa: E402,F401  (each module registers its routes on bp)
    authoring,
    catalogue,
    certificates,
    learner,
    sessions,
)
