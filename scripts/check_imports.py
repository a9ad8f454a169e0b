"""The import rule: which package of app/ may import which (docs/architecture.md), and
that only app/clock.py reads the time.

Run as a script (``make lint``) or through ``violations()`` (tests/test_architecture.py).
Reads the source with ``ast``; imports inside ``if TYPE_CHECKING:`` count as well, since
they too say what a module depends on.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"

#: Domain packages from the bottom up: a module of one may import those at its rank or
#: below, never above. The web layer of a domain (views.py, forms.py) may call any domain's
#: services and queries, since a page gathers what it shows; it never imports another
#: domain's views.
DOMAINS = [
    "audit",
    "backup",
    "org",
    "accounts",
    "framework",
    "capability",
    "learning",
    "assessment",
    "reports",
    "staff_import",
    "privacy",
    "content",
    "demo",
]
RANK = {name: i for i, name in enumerate(DOMAINS)}
WEB_MODULES = {"views", "forms"}

#: Shared modules any package may import. ``access``, ``viewutil``, ``navigation`` and
#: ``forms`` serve pages: only the web layer, the app factory and each other use them.
SHARED = {"extensions", "db", "dates", "clock", "emails", "errors", "signals", "config", "models"}
WEB_SHARED = {"access", "viewutil", "navigation", "forms"}

#: Pure modules: data in, data out; no Flask, no ORM, no database.
PURE = {
    "app.capability.levels",
    "app.accounts.throttle",
    "app.reports.spans",
    "app.capability.chart",
    "app.framework.content",
    "app.framework.diff",
    "app.framework.scale",
    "app.learning.content",
    "app.learning.diff",
    "app.learning.lessons",
    "app.assessment.content",
    "app.assessment.gift",
    "app.dates",
}
IMPURE_ROOTS = ("flask", "flask_sqlalchemy", "flask_login", "flask_wtf", "sqlalchemy")
IMPURE_APP = {"app.extensions", "app.db", "app.access", "app.viewutil", "app.models"}


def module_name(path: Path, root: Path = APP) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, root: Path = APP) -> list[tuple[int, str]]:
    """(line, dotted name) of every module ``path`` imports, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            out.append((node.lineno, base))
            # ``from app.x import y`` may import the module ``app.x.y``
            out.extend(
                (node.lineno, f"{base}.{alias.name}")
                for alias in node.names
                if (root.parent / Path(*f"{base}.{alias.name}".split(".")))
                .with_suffix(".py")
                .exists()
            )
    return out


def _problem(importer: str, imported: str) -> str | None:
    parts, target = importer.split("."), imported.split(".")
    if importer in PURE and (
        imported.split(".")[0] in IMPURE_ROOTS
        or any(imported == m or imported.startswith(m + ".") for m in IMPURE_APP)
    ):
        return "a pure module imports Flask, the ORM or the database"
    if target[0] != "app" or len(target) < 2 or len(parts) < 2:
        return None
    own = parts[1] if parts[1] in RANK else None
    other = target[1]
    web = own is not None and any(p in WEB_MODULES for p in parts[2:])
    if other in WEB_SHARED and own is not None and not web and other != "forms":
        return f"domain logic imports app.{other}, which serves pages"
    if other not in RANK or own is None or other == own:
        return None
    if "views" in target[2:]:
        return "imports another domain's views"
    if not web and RANK[other] > RANK[own]:
        return f"{own} sits below {other} and may not import it"
    return None


#: Reading the time anywhere but app/clock.py: the organisation's "today" would be the
#: server's there, and a test could not hold the clock still in one place.
CLOCK_READS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
}
CLOCK_MODULE = "app.clock"


def clock_reads(path: Path) -> list[int]:
    """The lines of ``path`` that read the time themselves (``datetime.now()``, ``date.today()``
    and the like) instead of asking app.clock."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and (node.func.value.id, node.func.attr) in CLOCK_READS
    ]


def violations(root: Path = APP) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        importer = module_name(path, root)
        if importer != CLOCK_MODULE:
            found += [
                f"{path.relative_to(root.parent)}:{line}: {importer} reads the time itself: "
                "use app.clock (now, today)"
                for line in clock_reads(path)
            ]
        seen: set[tuple[int, str]] = set()
        for line, imported in imported_modules(path, root):
            problem = _problem(importer, imported)
            if problem and (line, problem) not in seen:
                seen.add((line, problem))
                found.append(
                    f"{path.relative_to(root.parent)}:{line}: {importer} -> {imported}: {problem}"
                )
    return found


if __name__ == "__main__":
    problems = violations()
    for problem in problems:
        print(problem)
    print(f"import rule: {len(problems)} violation(s)")
    sys.exit(1 if problems else 0)
