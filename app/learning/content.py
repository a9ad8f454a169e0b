"""A learning path version's whole content as one plain, canonical value, and the rules a
path's content must keep.

Equal content gives an equal digest, so loading the same file twice is a no-op, and two
versions can be compared (``app.learning.diff``) without the database. The rules stated
here — a module type's level cap, 2-4 outcomes, a lesson of 250-600 words, hours in
quarter hours from 0.25 to 40, ``requires`` naming earlier modules, no prerequisite cycles —
are the one place each is written: ``flask content check`` applies them to the files, and
the trainer's authoring use-cases to a draft.

Pure: no Flask, no ORM.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from app.framework.scale import MAX_LEVEL

#: A path code: a capital letter then 1-11 capitals or digits, e.g. P3OF.
PATH_CODE_PATTERN = r"^[A-Z][A-Z0-9]{1,11}$"
PATH_CODE_RE = re.compile(PATH_CODE_PATTERN)

#: The module types, in the order forms offer them.
MODULE_TYPES = ("e-learning", "reading", "classroom", "workshop", "on-the-job", "assessment")

TYPE_LABELS = {
    "e-learning": "E-learning",
    "reading": "Reading",
    "classroom": "Classroom",
    "workshop": "Workshop",
    "on-the-job": "On-the-job task",
    "assessment": "Assessment",
}

#: The highest level completing a module of each type can evidence: what a completed
#: module can show (2), what an end-of-path assessment certifies (3), what an assessed task
#: on real work shows (4).
TYPE_CAPS = {
    "e-learning": 2,
    "reading": 2,
    "classroom": 2,
    "workshop": 2,
    "assessment": 3,
    "on-the-job": 4,
}

#: The evidence source (``app.framework.models.Source`` value) a module type's completion
#: records; the framework's cap for that source also bounds the module's levels.
TYPE_SOURCES = {
    "e-learning": "module_completion",
    "reading": "module_completion",
    "classroom": "module_completion",
    "workshop": "module_completion",
    "assessment": "assessment",
    "on-the-job": "assessor_observation",
}

OUTCOMES_MIN, OUTCOMES_MAX = 2, 4
LESSON_WORDS_MIN, LESSON_WORDS_MAX = 250, 600
#: Estimated hours of a module: quarter hours, 0.25 to 40 (stored as 15 to 2,400 minutes).
MINUTES_MIN, MINUTES_MAX, MINUTES_STEP = 15, 2400, 15
TITLE_MAX = 200
#: Due days of an enrolment rule.
DUE_DAYS_MIN, DUE_DAYS_MAX = 1, 730

PATH = "path"
CERTIFICATE = "certificate"

#: One alternative of a prerequisite: ("path", code) or ("certificate", code).
Alternative = tuple[str, str]
#: One prerequisite: any one of its alternatives satisfies it.
Prerequisite = tuple[Alternative, ...]


def one_line(value: object) -> str:
    """Text as the content holds a title, summary or outcome: whitespace runs folded."""
    return " ".join(str(value or "").split())


def lesson_text(value: object) -> str:
    """A lesson as the content holds it: line endings unified, trailing spaces and blank
    lines at either end dropped (so a file's block scalar and a form's text agree)."""
    lines = str(value or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")


_WORD = re.compile(r"[A-Za-z0-9£$€]+(?:['’.,-][A-Za-z0-9]+)*")


def word_count(markdown: str) -> int:
    """Words of a lesson, as a reader counts them (Markdown marks are not words)."""
    return len(_WORD.findall(markdown or ""))


def hours_of(minutes: int) -> float | int:
    """Minutes as the hours a file states (1.5, 2, 0.25)."""
    hours = minutes / 60
    return int(hours) if hours == int(hours) else hours


def minutes_of(hours: object) -> int | None:
    """Hours as whole minutes, or None when they are not a whole number of minutes."""
    if isinstance(hours, bool) or not isinstance(hours, int | float):
        return None
    minutes = hours * 60
    return round(minutes) if abs(minutes - round(minutes)) < 1e-6 else None


def module_code(path_code: str, number: int) -> str:
    """The code of a path's ``number``-th module: ``P3OF-01``."""
    return f"{path_code}-{number:02d}"


def module_number(path_code: str, code: str) -> int | None:
    """The number in a module code of the path, or None when the code is not one."""
    match = re.fullmatch(rf"{re.escape(path_code)}-(\d{{2,3}})", code)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class ModuleContent:
    code: str
    title: str
    type: str
    minutes: int
    optional: bool = False
    #: codes of the modules of the same path to complete first (in code order)
    requires: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    #: competency code -> the level completing the module evidences (in code order)
    evidences: dict[str, int] = field(default_factory=dict)
    lesson: str = ""
    #: assessment modules: the assessment whose pass completes the module
    assessment: str | None = None

    @property
    def hours(self) -> float | int:
        return hours_of(self.minutes)

    def as_json(self) -> dict:
        doc: dict[str, object] = {
            "code": self.code,
            "title": self.title,
            "type": self.type,
            "minutes": self.minutes,
            "optional": self.optional,
            "requires": list(self.requires),
            "outcomes": list(self.outcomes),
            "evidences": dict(sorted(self.evidences.items())),
            "lesson": self.lesson,
        }
        if self.assessment:
            doc["assessment"] = self.assessment
        return doc


def module(
    *,
    code: str,
    title: str,
    type: str,
    minutes: int,
    optional: bool = False,
    requires: Iterable[str] = (),
    outcomes: Iterable[str] = (),
    evidences: Mapping[str, int] | None = None,
    lesson: str = "",
    assessment: str | None = None,
) -> ModuleContent:
    """A module, canonical: text folded, requires and evidences in code order."""
    return ModuleContent(
        code=code,
        title=one_line(title),
        type=type,
        minutes=int(minutes),
        optional=bool(optional),
        requires=tuple(sorted(set(requires))),
        outcomes=tuple(o for o in (one_line(x) for x in outcomes) if o),
        evidences={str(k): int(v) for k, v in sorted((evidences or {}).items())},
        lesson=lesson_text(lesson),
        assessment=one_line(assessment) or None,
    )


def prerequisites(sets: Iterable[Iterable[Alternative]]) -> tuple[Prerequisite, ...]:
    """Prerequisites, canonical: each set's alternatives sorted and unique, empty sets and
    repeated sets dropped, the sets in order."""
    canonical = {tuple(sorted(set(alternatives))) for alternatives in sets}
    return tuple(sorted(s for s in canonical if s))


@dataclass(frozen=True)
class PathContent:
    """A path version's whole content, canonical: equal content, equal digest. Enrolment
    rules belong to the path, not to a version, and are not part of it."""

    code: str
    title: str
    summary: str = ""
    open_enrolment: bool = True
    #: target role codes, in code order
    audience: tuple[str, ...] = ()
    prerequisites: tuple[Prerequisite, ...] = ()
    modules: tuple[ModuleContent, ...] = ()

    @property
    def minutes(self) -> int:
        return sum(m.minutes for m in self.modules)

    def module_codes(self) -> list[str]:
        return [m.code for m in self.modules]

    def as_json(self) -> dict:
        return {
            "code": self.code,
            "title": self.title,
            "summary": self.summary,
            "open_enrolment": self.open_enrolment,
            "audience": list(self.audience),
            "prerequisites": [[list(a) for a in s] for s in self.prerequisites],
            "modules": [m.as_json() for m in self.modules],
        }

    def digest(self) -> str:
        blob = json.dumps(self.as_json(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()


def path_content(
    *,
    code: str,
    title: str,
    summary: str = "",
    open_enrolment: bool = True,
    audience: Iterable[str] = (),
    prerequisite_sets: Iterable[Iterable[Alternative]] = (),
    modules: Iterable[ModuleContent] = (),
) -> PathContent:
    """A path version's content, canonical (see :class:`PathContent`)."""
    return PathContent(
        code=code,
        title=one_line(title),
        summary=one_line(summary),
        open_enrolment=bool(open_enrolment),
        audience=tuple(sorted(set(audience))),
        prerequisites=prerequisites(prerequisite_sets),
        modules=tuple(modules),
    )


def path_from_data(data: Mapping) -> PathContent:
    """The canonical content of a ``learning-path`` document (already schema-checked)."""
    return path_content(
        code=data["code"],
        title=data["title"],
        summary=data.get("summary") or "",
        open_enrolment=data.get("open", True),
        audience=data.get("audience") or (),
        prerequisite_sets=(
            [_alternative(a) for a in p.get("any_of") or ()]
            for p in data.get("prerequisites") or ()
        ),
        modules=[
            module(
                code=m["code"],
                title=m["title"],
                type=m["type"],
                minutes=minutes_of(m["hours"]) or 0,
                optional=m.get("optional", False),
                requires=m.get("requires") or (),
                outcomes=m.get("outcomes") or (),
                evidences=m.get("evidences") or {},
                lesson=m.get("lesson") or "",
                assessment=m.get("assessment"),
            )
            for m in data.get("modules") or ()
        ],
    )


def _alternative(item: Mapping) -> Alternative:
    if PATH in item:
        return (PATH, str(item[PATH]))
    return (CERTIFICATE, str(item[CERTIFICATE]))


# --- the rules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class References:
    """What a path's content may name; None where it is unknown (the check is skipped)."""

    competencies: frozenset[str] | None = None
    #: the framework's evidence caps: source value -> highest level
    caps: Mapping[str, int] | None = None
    roles: frozenset[str] | None = None
    certificates: frozenset[str] | None = None
    paths: frozenset[str] | None = None


@dataclass(frozen=True)
class Problem:
    """One broken rule. ``key`` is where, in the file's terms: ``hours``, ``outcomes``,
    ``evidences.GOV-05``, ``requires`` (inside a module), ``audience[2]`` (inside a path)."""

    key: str
    message: str


def level_cap(module_type: str, caps: Mapping[str, int] | None = None) -> int:
    """The highest level a module of ``module_type`` may evidence: its type's cap, and never
    above the framework's cap for the evidence source the type records."""
    cap = TYPE_CAPS.get(module_type, 0)
    if caps is not None and TYPE_SOURCES.get(module_type) in caps:
        cap = min(cap, caps[TYPE_SOURCES[module_type]])
    return cap


def evidence_problems(
    module_type: str,
    evidences: Mapping[str, int],
    *,
    competencies: frozenset[str] | None = None,
    caps: Mapping[str, int] | None = None,
) -> list[Problem]:
    """Unknown competency codes and levels above the type's cap (see ``level_cap``)."""
    problems = []
    cap = level_cap(module_type, caps)
    for code, level in evidences.items():
        where = f"evidences.{code}"
        if competencies is not None and code not in competencies:
            problems.append(Problem(where, f"unknown competency code {code!r}"))
        if not 1 <= level <= MAX_LEVEL:
            problems.append(Problem(where, f"level {level} is not on the scale 1-{MAX_LEVEL}"))
        elif level > cap:
            problems.append(
                Problem(
                    where,
                    f"level {level} is above what completing a module of type {module_type} "
                    f"can evidence ({cap})",
                )
            )
    return problems


def module_problems(
    item: ModuleContent,
    *,
    path_code: str,
    earlier: Iterable[str] = (),
    later: Iterable[str] = (),
    refs: References = References(),
) -> list[Problem]:
    """The rules for one module of a path: its code (``<path code>-NN``), hours, 2-4
    outcomes, a lesson of 250-600 words, its evidence (``evidence_problems``), and
    ``requires`` naming only modules that come before it (``earlier``); ``later`` are the
    codes of the modules after it, to say so when one is named."""
    problems = []
    if module_number(path_code, item.code) is None:
        problems.append(
            Problem(
                "code",
                f"module code {item.code!r} should be {path_code}-NN, e.g. "
                f"{module_code(path_code, 1)}",
            )
        )
    if item.type not in TYPE_CAPS:
        problems.append(Problem("type", f"unknown module type {item.type!r}"))
    if not MINUTES_MIN <= item.minutes <= MINUTES_MAX or item.minutes % MINUTES_STEP:
        problems.append(
            Problem("hours", "hours must be in quarter hours from 0.25 to 40 (e.g. 1.5)")
        )
    if not OUTCOMES_MIN <= len(item.outcomes) <= OUTCOMES_MAX:
        problems.append(
            Problem(
                "outcomes",
                f"{len(item.outcomes)} learning outcome(s); give {OUTCOMES_MIN} to {OUTCOMES_MAX}",
            )
        )
    words = word_count(item.lesson)
    if not LESSON_WORDS_MIN <= words <= LESSON_WORDS_MAX:
        problems.append(
            Problem(
                "lesson",
                f"the lesson has {words} words; write {LESSON_WORDS_MIN} to {LESSON_WORDS_MAX}",
            )
        )
    if not item.evidences:
        problems.append(Problem("evidences", "it evidences no competency"))
    problems += evidence_problems(
        item.type, item.evidences, competencies=refs.competencies, caps=refs.caps
    )
    return problems + _requires_problems(item, set(earlier), set(later))


def _requires_problems(item: ModuleContent, before: set[str], after: set[str]) -> list[Problem]:
    problems = []
    for code in item.requires:
        if code == item.code:
            problems.append(Problem("requires", f"{code} requires itself"))
        elif code in after:
            problems.append(
                Problem(
                    "requires",
                    f"requires {code}, which comes later in the path; put what is required first",
                )
            )
        elif code not in before:
            problems.append(Problem("requires", f"requires {code}, which is not in this path"))
    return problems


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A cycle in ``graph`` (node -> the nodes it depends on) as ``[a, b, ..., a]``, or
    None. Nodes are visited in sorted order, so the same graph gives the same cycle."""
    state: dict[str, int] = {}  # 1: on the current trail, 2: done
    trail: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        trail.append(node)
        for nxt in sorted(set(graph.get(node, ()))):
            if state.get(nxt) == 1:
                return [*trail[trail.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        trail.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def prerequisite_graph(paths: Iterable[PathContent]) -> dict[str, set[str]]:
    """Path code -> the path codes its prerequisites name (any alternative)."""
    return {
        p.code: {code for s in p.prerequisites for kind, code in s if kind == PATH} for p in paths
    }


def path_problems(content: PathContent, refs: References = References()) -> list[Problem]:
    """Every broken rule of one path version (``modules[i].<key>`` for a module's own), as
    publishing checks it: a path code in the format, a title, at least one module, known
    role, path and certificate codes, module codes used once, each module's rules, and no
    circle of module prerequisites."""
    problems = []
    if not PATH_CODE_RE.match(content.code):
        problems.append(
            Problem("code", "a path code is a capital letter then 1-11 capitals or digits")
        )
    if not content.title:
        problems.append(Problem("title", "give the path a title"))
    elif len(content.title) > TITLE_MAX:
        problems.append(Problem("title", f"keep the title to {TITLE_MAX} characters"))
    return problems + _reference_problems(content, refs) + _modules_problems(content, refs)


def _reference_problems(content: PathContent, refs: References) -> list[Problem]:
    """Target roles, prerequisite paths and certificates that do not exist."""
    problems = [
        Problem(f"audience[{i}]", f"unknown role code {role!r}")
        for i, role in enumerate(content.audience)
        if refs.roles is not None and role not in refs.roles
    ]
    for i, alternatives in enumerate(content.prerequisites):
        for j, (kind, code) in enumerate(alternatives):
            where = f"prerequisites[{i}].any_of[{j}]"
            known = refs.paths if kind == PATH else refs.certificates
            if kind == PATH and code == content.code:
                problems.append(Problem(where, f"{code} cannot be a prerequisite of itself"))
            elif known is not None and code not in known:
                problems.append(Problem(where, f"unknown {kind} code {code!r}"))
    return problems


def _modules_problems(content: PathContent, refs: References) -> list[Problem]:
    """At least one module; codes used once; each module's rules; no circle of ``requires``."""
    problems = []
    if not content.modules:
        problems.append(Problem("modules", "the path has no module"))
    codes = content.module_codes()
    for i, item in enumerate(content.modules):
        if item.code in codes[:i]:
            problems.append(
                Problem(
                    f"modules[{i}].code",
                    f"duplicate module code {item.code!r} (also modules[{codes.index(item.code)}])",
                )
            )
        problems += [
            Problem(f"modules[{i}].{p.key}", p.message)
            for p in module_problems(
                item,
                path_code=content.code,
                earlier=codes[:i],
                later=codes[i + 1 :],
                refs=refs,
            )
        ]
    cycle = find_cycle({m.code: m.requires for m in content.modules})
    if cycle:
        problems.append(
            Problem(
                f"modules[{codes.index(cycle[0])}].requires",
                "module prerequisites go round in a circle: " + " → ".join(cycle),
            )
        )
    return problems
