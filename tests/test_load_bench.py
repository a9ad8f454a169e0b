"""The load bench's machinery (bench/load_bench.py and bench/locustfile.py) for a few seconds,
so that the suite keeps it working: gunicorn serving a small demo on SQLite, locust driving
the working-day mix with the floor page beside it, each worker's memory sampled, one
worker killed with SIGKILL mid-run, then every write the clients saw succeed looked up in
the database. The figures at 20,000 people are the bench's own (bench/README.md).

Loopback only; no network. Runs on SQLite alone (a file of its own, not the parametrised
fixtures): the bench's PostgreSQL side differs only in where the copy comes from.
"""

from __future__ import annotations

from bench.load_bench import (
    Options,
    add_bench_data,
    build_small_database,
    check_writes,
    report,
    run_bench,
)


def test_the_mix_runs_through_a_killed_worker_and_loses_no_committed_write(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    build_small_database(url, people=49)
    plan = add_bench_data(url, learners=4, managers=1)
    options = Options(
        seconds=120,  # at most: the run stops once 3 answers were saved after the kill
        until_saves=3,
        users=5,
        spawn_rate=5,
        workers=2,
        think=(0.1, 0.3),
        sample_every=1,
        kill_at=5,
        pin=False,
        preload=True,
        stop_timeout=5,
    )

    r = run_bench(url, plan, tmp_path, options)
    report(r)  # shown when the test fails

    # Every request answered as expected, but those the kill cut off; nothing in the log.
    assert r["errors"] == 0, r["error_kinds"]
    assert r["log"] == {"database is locked": 0, "tracebacks": 0, "worker timeouts": 0}
    assert r["kinds"]["floor"]["requests"] > 0 and r["kinds"]["floor"]["p95_ms"] is not None
    assert r["rps"] > 0
    # The kill happened and gunicorn replaced the worker.
    [kill] = r["kills"]
    assert kill["worker"] and kill["replacement"] and kill["replacement"] != kill["worker"]
    # Each worker (the killed one, the survivor, the replacement) was sampled.
    assert len(r["memory"]) == 3
    assert all(m["max_mib"] >= m["first_mib"] > 0 for m in r["memory"].values())
    # Answers were saved, and every one the clients saw succeed is in the database.
    writes = r["writes"]
    assert writes["answer_saves"] >= 3
    assert writes["lost"] == 0, writes["lost_samples"]
    assert writes["integrity_check"] == "ok"

    # The check does find a write the database does not hold.
    answers = [[item, revision + 1, value] for item, revision, value, _t in r["saved"]["answers"]]
    missed = check_writes(url, {"answers": answers[-1:], "imports": [[10**6, ["NOBODY-1"]]]})
    assert missed["lost"] == 3  # the answer, the import's batch, the import's person
