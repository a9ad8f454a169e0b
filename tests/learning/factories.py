"""Learning paths for tests, built straight into the tables (the content loader and the
authoring use-cases have tests of their own)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from app.extensions import db
from app.learning.models import (
    LearningPath,
    ModuleEvidence,
    ModuleType,
    PathModule,
    PathStatus,
    PathVersion,
)

_seq = itertools.count(1)

LESSON = (
    "## Key ideas\n\nA register is only useful when someone acts on it. "
    * 8
    + "\n\n## Worked example\n\nThe office reviews the log every Monday.\n\n"
    "## Exercise\n\nReview one log you own.\n"
)


@dataclass
class M:
    """A module to build: type, evidences (code -> level), minutes."""

    type: ModuleType = ModuleType.E_LEARNING
    evidences: dict[str, int] = field(default_factory=dict)
    minutes: int = 60
    optional: bool = False
    requires: list[str] = field(default_factory=list)
    title: str | None = None


def make_path(
    *modules: M,
    code: str | None = None,
    title: str | None = None,
    status: PathStatus = PathStatus.PUBLISHED,
    open_enrolment: bool = True,
    path: LearningPath | None = None,
    number: int | None = None,
) -> PathVersion:
    """A path version (published by default) with the given modules (one e-learning
    module when none is given). Module codes are ``<path code>-01``, ``-02``, ..."""
    if path is None:
        path = LearningPath(code=code or f"TP{next(_seq)}")
        db.session.add(path)
        db.session.flush()
    version = PathVersion(
        path=path,
        number=number or len(path.versions) + 1,
        status=status,
        title=title or f"Path {path.code}",
        summary="A test path.",
        open_enrolment=open_enrolment,
    )
    for i, m in enumerate(modules or (M(),), start=1):
        module = PathModule(
            position=i,
            code=f"{path.code}-{i:02d}",
            title=m.title or f"Module {i}",
            type=m.type,
            minutes=m.minutes,
            optional=m.optional,
            requires=list(m.requires),
            outcomes=["Explain the idea.", "Apply the idea."],
            lesson=LESSON,
            evidences=[
                ModuleEvidence(competency_code=c, level=lv) for c, lv in m.evidences.items()
            ],
        )
        version.modules.append(module)
    db.session.add(version)
    db.session.flush()
    return version
