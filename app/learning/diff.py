"""What changed between two versions of a learning path: a pure comparison of canonical
content.

``diff(a, b)`` reads two :class:`~app.learning.content.PathContent` values (``a`` the older,
``b`` the newer) and reports the path's own fields that changed (title, summary, open
enrolment), the target roles and prerequisites added and removed, and the modules added,
removed and changed — field by field, with each competency level a module evidences —
and whether the modules' order changed. Data in, data out: no Flask, no database.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.learning.content import (
    TYPE_LABELS,
    ModuleContent,
    PathContent,
    Prerequisite,
    hours_of,
    word_count,
)


@dataclass(frozen=True)
class FieldChange:
    field: str  # "title", "hours", "outcomes", "lesson", ...
    old: object
    new: object


@dataclass(frozen=True)
class EvidenceChange:
    competency: str
    old: int | None  # None: the older version did not evidence it
    new: int | None  # None: the newer version no longer evidences it


@dataclass(frozen=True)
class ModuleRef:
    code: str
    title: str
    type: str


@dataclass(frozen=True)
class ModuleChange:
    code: str
    title: str  # the newer title
    changes: tuple[FieldChange, ...] = ()
    evidences: tuple[EvidenceChange, ...] = ()


@dataclass(frozen=True)
class PathDiff:
    details: tuple[FieldChange, ...] = ()
    audience_added: tuple[str, ...] = ()
    audience_removed: tuple[str, ...] = ()
    prerequisites_added: tuple[Prerequisite, ...] = ()
    prerequisites_removed: tuple[Prerequisite, ...] = ()
    added: tuple[ModuleRef, ...] = ()
    removed: tuple[ModuleRef, ...] = ()
    changed: tuple[ModuleChange, ...] = ()
    #: (old order, new order) of the modules both versions have, when it changed
    reordered: tuple[tuple[str, ...], tuple[str, ...]] | None = None

    @property
    def empty(self) -> bool:
        return not (
            self.details
            or self.audience_added
            or self.audience_removed
            or self.prerequisites_added
            or self.prerequisites_removed
            or self.added
            or self.removed
            or self.changed
            or self.reordered
        )

    @property
    def evidence_changed(self) -> bool:
        """Whether what completing the path evidences changed (levels, modules in or out)."""
        return bool(self.added or self.removed or any(m.evidences for m in self.changed))


def _ref(item: ModuleContent) -> ModuleRef:
    return ModuleRef(item.code, item.title, item.type)


def _lesson_change(old: str, new: str) -> FieldChange | None:
    """A lesson is long: say it changed and how long it is now, not the whole text."""
    if old == new:
        return None
    return FieldChange("lesson", f"{word_count(old)} words", f"{word_count(new)} words")


def module_changes(old: ModuleContent, new: ModuleContent) -> ModuleChange | None:
    """How one module changed between two versions, or None when it did not."""
    changes = []
    if old.title != new.title:
        changes.append(FieldChange("title", old.title, new.title))
    if old.type != new.type:
        labels = TYPE_LABELS
        changes.append(FieldChange("type", labels.get(old.type), labels.get(new.type)))
    if old.minutes != new.minutes:
        changes.append(FieldChange("hours", hours_of(old.minutes), hours_of(new.minutes)))
    if old.optional != new.optional:
        changes.append(
            FieldChange(
                "optional",
                "optional" if old.optional else "required",
                "optional" if new.optional else "required",
            )
        )
    if old.requires != new.requires:
        before, after = ", ".join(old.requires) or None, ", ".join(new.requires) or None
        changes.append(FieldChange("requires", before, after))
    if old.outcomes != new.outcomes:
        changes.append(FieldChange("outcomes", list(old.outcomes), list(new.outcomes)))
    lesson = _lesson_change(old.lesson, new.lesson)
    if lesson:
        changes.append(lesson)
    if old.assessment != new.assessment:
        changes.append(FieldChange("assessment", old.assessment, new.assessment))
    evidences = tuple(
        EvidenceChange(code, old.evidences.get(code), new.evidences.get(code))
        for code in sorted(old.evidences.keys() | new.evidences.keys())
        if old.evidences.get(code) != new.evidences.get(code)
    )
    if not changes and not evidences:
        return None
    return ModuleChange(new.code, new.title, tuple(changes), evidences)


def diff(old: PathContent, new: PathContent) -> PathDiff:
    """What changed from ``old`` to ``new`` (see the module docstring)."""
    details = []
    if old.title != new.title:
        details.append(FieldChange("title", old.title, new.title))
    if old.summary != new.summary:
        details.append(FieldChange("summary", old.summary, new.summary))
    if old.open_enrolment != new.open_enrolment:
        details.append(
            FieldChange(
                "open enrolment",
                "open" if old.open_enrolment else "by enrolment only",
                "open" if new.open_enrolment else "by enrolment only",
            )
        )
    before = {m.code: m for m in old.modules}
    after = {m.code: m for m in new.modules}
    changed = [
        change
        for m in new.modules
        if m.code in before and (change := module_changes(before[m.code], m)) is not None
    ]
    old_order = tuple(c for c in old.module_codes() if c in after)
    new_order = tuple(c for c in new.module_codes() if c in before)
    return PathDiff(
        details=tuple(details),
        audience_added=tuple(r for r in new.audience if r not in old.audience),
        audience_removed=tuple(r for r in old.audience if r not in new.audience),
        prerequisites_added=tuple(p for p in new.prerequisites if p not in old.prerequisites),
        prerequisites_removed=tuple(p for p in old.prerequisites if p not in new.prerequisites),
        added=tuple(_ref(m) for m in new.modules if m.code not in before),
        removed=tuple(_ref(m) for m in old.modules if m.code not in after),
        changed=tuple(changed),
        reordered=(old_order, new_order) if old_order != new_order else None,
    )


def first_version(new: PathContent) -> PathDiff:
    """The "diff" of a path's first version: everything in it is new."""
    return diff(
        PathContent(
            code=new.code, title=new.title, summary=new.summary, open_enrolment=new.open_enrolment
        ),
        new,
    )
