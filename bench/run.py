"""Benchmarks for the foundation: demo build at 20,000 people and the people list at that size.

Each figure is reported with a floor measured in the same run on the same machine, so the
ratio means something on a noisy 2-core box:

* demo build floor: inserting as many plain rows as the demo writes (people, role
  assignments, evidence) into a bare SQLite table with the sqlite3 module (executemany,
  one transaction);
* page floor: the minimal signed-in page (/me) rendered by the same app and database.

Usage: .venv/bin/python bench/run.py [--people 20000] [--repeat 5]
Results go to stdout and bench/results/foundation.json.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import select  # noqa: E402

from app import create_app  # noqa: E402
from app.accounts.models import User  # noqa: E402
from app.accounts.services import open_login_session  # noqa: E402
from app.config import TestConfig  # noqa: E402
from app.content.framework_load import load_framework  # noqa: E402
from app.content.roles import load_roles  # noqa: E402
from app.demo.organisation import build_demo  # noqa: E402
from app.extensions import db  # noqa: E402
from tests.conftest import set_session_token  # noqa: E402


def floor_insert(rows: int, path: Path) -> float:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT, c TEXT, d INTEGER)")
    data = [(f"HG{i}", f"First{i}", f"Last{i}", i % 50) for i in range(rows)]
    started = time.perf_counter()
    with conn:
        conn.executemany("INSERT INTO t (a, b, c, d) VALUES (?, ?, ?, ?)", data)
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def timed_get(client, url: str, repeat: int) -> float:
    client.get(url)  # warm
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pmo-bench-"))
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp / 'bench.sqlite3'}")
    results: dict[str, float | int | str] = {"people": args.people}
    with app.app_context():
        upgrade()
        load_roles(db.session, ROOT / "curricula" / "roles.yaml")
        load_framework(
            db.session,
            ROOT / "curricula" / "framework.yaml",
            ROOT / "curricula" / "role-profiles.yaml",
            certificates_path=ROOT / "curricula" / "certificates.yaml",
        )
        db.session.commit()
        started = time.perf_counter()
        report = build_demo(db.session, people=args.people, seed=7)
        db.session.commit()
        results["demo_evidence_rows"] = report.evidence
        results["demo_build_s"] = round(time.perf_counter() - started, 3)
        rows = args.people + report.assignments + report.evidence
        results["floor_rows"] = rows
        results["floor_insert_s"] = round(floor_insert(rows, tmp / "floor.sqlite3"), 3)
        results["demo_build_ratio"] = round(results["demo_build_s"] / results["floor_insert_s"], 1)

        admin = db.session.scalar(select(User).where(User.email.like("tom.becker%")))
        token = open_login_session(db.session, admin)
        db.session.commit()
    client = app.test_client()
    set_session_token(client, token)
    floor = timed_get(client, "/me", args.repeat)
    results["page_floor_ms"] = round(floor * 1000, 1)
    pages = [
        ("capability_mine", "/capability"),
        ("people_list", "/admin/people"),
        ("people_list_page_400", "/admin/people?page=400"),
        ("people_search", "/admin/people?q=shah"),
        ("home_admin", "/"),
    ]
    for name, url in pages:
        t = timed_get(client, url, args.repeat)
        results[f"{name}_ms"] = round(t * 1000, 1)
        results[f"{name}_ratio"] = round(t / floor, 1)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "foundation.json").write_text(json.dumps(results, indent=2))
    for key, value in results.items():
        print(f"{key:>28}: {value}")


if __name__ == "__main__":
    main()
