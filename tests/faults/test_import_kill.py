"""H6: the staff importer (``flask import people``, in a child process) killed with SIGKILL
at several points of its apply, on SQLite and PostgreSQL: each time the database holds none
of the batch or all of it, SQLite's integrity and foreign-key checks are clean, the audit
chain verifies, and running the import again completes with what one clean run leaves.

A 2,000-row file and three kill points per backend keep this within the suite's budget;
``bench/load_bench.py --import-kills`` runs 50,000 rows and ten kill points.
"""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from tests.conftest import empty_all_tables
from tests.faults.import_kill import fingerprint, kill_trials, seed, staff_file

ROWS = 2000
KILLS = 3


def test_a_killed_import_leaves_none_or_all_of_its_batch_and_finishes_when_run_again(
    app, database_url, tmp_path
):
    engine = sa.create_engine(database_url)

    def reset():
        db.session.remove()
        empty_all_tables()
        seed(db.session)
        db.session.remove()
        return fingerprint(engine)

    try:
        file = staff_file(tmp_path / "staff.csv", ROWS)
        before = reset()
        clean_run, trials = kill_trials(
            database_url, engine, file, tmp_path, KILLS, reset, fork=True
        )
        assert f"To create: {ROWS}" in clean_run.output
        clean = fingerprint(engine)
        assert clean.rows("people") == before.rows("people") + ROWS
        assert clean.rows("role_assignments") == ROWS
        for trial in trials:
            assert trial.outcome in ("none", "all"), trials
            assert trial.integrity in ("ok", "n/a") and trial.foreign_key_rows == 0, trials
            assert trial.chain_ok, trials
            assert trial.resume_code == 0 and trial.resumed_equal, trials
        # The kills did land in the apply: the first found the process running and left
        # nothing of its batch.
        assert trials[0].killed and trials[0].outcome == "none", trials
    finally:
        engine.dispose()
