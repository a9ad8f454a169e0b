"""Learning views: certificates (see the package docstring)."""

from __future__ import annotations

from app.learning.views import bp  # noqa: F401
