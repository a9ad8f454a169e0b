"""The import rule of docs/architecture.md holds, and the check really catches a breach."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _checker():
    spec = importlib.util.spec_from_file_location(
        "check_imports", ROOT / "scripts/check_imports.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_tree_keeps_the_import_rule():
    assert _checker().violations() == []


def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    app = tmp_path / "app"
    for name, text in files.items():
        path = app / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for folder in {p.parent for p in app.rglob("*.py")} | {app}:
        (folder / "__init__.py").touch()
    return app


def test_an_upward_import_between_domains_is_caught(tmp_path):
    app = _plant(
        tmp_path,
        {
            "org/services.py": "from app.capability import services\n",
            "capability/services.py": "",
        },
    )
    problems = _checker().violations(app)
    assert len(problems) == 1
    assert "org sits below capability" in problems[0]
    assert "org/services.py:1" in problems[0]


def test_a_pure_module_importing_the_orm_or_flask_is_caught(tmp_path):
    app = _plant(tmp_path, {"capability/levels.py": "import sqlalchemy\nfrom flask import g\n"})
    problems = _checker().violations(app)
    assert len(problems) == 2
    assert all("pure module" in p for p in problems)


def test_views_may_gather_from_any_domain_but_not_another_domains_views(tmp_path):
    app = _plant(
        tmp_path,
        {
            "org/views.py": "from app.capability.services import waiting_counts\n"
            "from app.capability.views import bp\n",
            "capability/services.py": "",
            "capability/views.py": "",
        },
    )
    problems = _checker().violations(app)
    assert len(problems) == 1 and "another domain's views" in problems[0]


def test_domain_logic_may_not_import_the_page_helpers(tmp_path):
    app = _plant(tmp_path, {"org/services.py": "from app.viewutil import run\n", "viewutil.py": ""})
    problems = _checker().violations(app)
    assert len(problems) == 1 and "serves pages" in problems[0]


def test_reading_the_time_outside_the_clock_is_caught(tmp_path):
    app = _plant(
        tmp_path,
        {
            "learning/summary.py": "from datetime import date, datetime\n"
            "day = date.today()\n"
            "moment = datetime.now()\n",
            "clock.py": "from datetime import datetime\nnow = datetime.now()\n",
        },
    )
    problems = _checker().violations(app)
    assert len(problems) == 2 and all("reads the time itself" in p for p in problems)
    assert {p.split(": ")[0] for p in problems} == {
        "app/learning/summary.py:2",
        "app/learning/summary.py:3",
    }
