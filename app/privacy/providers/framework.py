"""The framework's piece: nothing about a person but who drafted and published versions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.privacy.registry import Provider, Pseudonym, Rows, Subject


def export(_session: Session, _subject: Subject, _now: datetime) -> dict[str, Rows]:
    return {}


def erase(_session: Session, _subject: Subject, _pseudonym: Pseudonym) -> dict[str, int]:
    """Nothing to remove: authorship stays, pointing at the pseudonymised account."""
    return {}


PROVIDER = Provider(
    name="framework",
    owned={},
    actions={
        ("framework_versions", "created_by_id"): "competency framework versions you drafted",
        ("framework_versions", "published_by_id"): "competency framework versions you published",
    },
    kinds={},
    export=export,
    erase=erase,
)
