"""Everyday pages under load: gunicorn, two sync workers, 16 connections, the demo at 20,000.

What a user opens daily — the learner's home, capability and learning pages, a manager's
home, team page (and the direct reports' grid it loads), validation queue and capability
heatmap, the admin's people list — each served by gunicorn (2 sync workers) from the
20,000-person demo organisation and driven by 16 concurrent keep-alive connections on the
loopback. The floor is measured the same way: a Flask page with one indexed 50-row ORM
query and a 50-row template (bench/floor_app.py) on the same database.

The machine may be shared and its load moves by the minute, so each page is measured in
turns with the floor (``--rounds`` turns of each, ``--seconds`` in all for each): the page
and the floor it is compared with see the same load. Reported per page: requests per
second, p50 and p99 latency, the throughput as a share of the floor's, p99 as a multiple
of the floor's p99, the size of the page, the server's CPU time per request (the gunicorn
workers and, on PostgreSQL, the database's backends; other work on the machine barely
changes it) against the floor's, and the load average while it ran. Targets (issue 9):
every page at least 25% of the floor's throughput, p99 within 4x the floor's.
``--profile`` also times each page in process (the Flask test client, no server): its CPU
time beside the floor's, and the SQL statements one request runs.

The demo takes minutes to build, so it is built once and kept:

- SQLite: in ``--cache`` (default /tmp/pmo-pages-<people>.sqlite3), upgraded to the
  migrations' head on each run; the run itself uses a copy, so the cache stays as built.
  ``--rebuild`` builds it again (say, after the demo changed).
- PostgreSQL (``--postgres URL``): built in that database when it is empty; a database
  holding the demo at the same size is upgraded and reused.

Usage:
  .venv/bin/python bench/pages_bench.py [--people 20000] [--seconds 8] [--postgres URL]
      [--pages my_team,admin_people] [--profile]
Results go to stdout and bench/results/pages-<backend>.json. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "harbourside-demo-2026"
LOGINS = {
    "learner": "priya.shah@harbourside.example",
    "manager": "daniel.okafor@harbourside.example",
    "admin": "tom.becker@harbourside.example",
}
#: (name, who, path): what each user opens on a working day.
PAGES = [
    ("learner_home", "learner", "/"),
    ("my_capability", "learner", "/capability"),
    ("my_learning", "learner", "/learning"),
    ("manager_home", "manager", "/"),
    ("my_team", "manager", "/team"),
    ("team_heatmap", "manager", "/team/heatmap"),
    ("validation_queue", "manager", "/validations"),
    ("reports_heatmap", "manager", "/reports/heatmap"),
    ("admin_people", "admin", "/admin/people"),
]
CONNECTIONS = 16
SECRET = "bench-secret-key-0123456789abcdef0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _app(url: str):
    from app import create_app

    return create_app(SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=SECRET, PMO_TWO_STEP_REQUIRED_FOR="")


def people_in(url: str) -> int | None:
    """How many people the database at ``url`` holds; None when it has no schema yet, 0
    when it was built without the shipped learning paths (built before they were loaded
    here: a demo with no enrolments, attempts or sessions, which flatters every page)."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("people"):
                return None
            if not conn.execute(text("SELECT count(*) FROM enrolments")).scalar():
                return 0
            return int(conn.execute(text("SELECT count(*) FROM people")).scalar() or 0)
    finally:
        engine.dispose()


def flask_command(url: str, *args: str, instance: Path) -> None:
    """``flask --app wsgi ARGS`` on the database at ``url`` (as ``make setup`` runs it)."""
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET}
    env["PMO_INSTANCE_DIR"] = str(instance)
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def upgrade_database(url: str, instance: Path) -> None:
    flask_command(url, "db", "upgrade", instance=instance)


def build_demo_database(url: str, people: int, instance: Path) -> None:
    """Migrate, load every shipped content file and build the demo at ``people``, through
    the commands ``make setup`` runs: the organisation with its learning (enrolments,
    sessions, certificates) and its assessment attempts, as the served demo has them."""
    upgrade_database(url, instance)
    flask_command(url, "content", "load", instance=instance)
    flask_command(url, "demo", "build", "--people", str(people), instance=instance)
    if url.startswith("sqlite:///"):
        # One file, whatever the commands left in the write-ahead log: it is renamed next.
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode=DELETE")
        finally:
            conn.close()


def prepare_database(args: argparse.Namespace, tmp: Path) -> str:
    """The URL of a database holding the demo at ``args.people``: built or reused (see the
    module docstring)."""
    started = time.perf_counter()
    if args.postgres:
        url = args.postgres
        found = people_in(url)
        if found is None:
            build_demo_database(url, args.people, tmp)
            print(f"demo at {args.people:,} people built in {time.perf_counter() - started:.0f} s")
        elif found == args.people:
            upgrade_database(url, tmp)
            print(f"demo at {args.people:,} people reused from {url.rsplit('/', 1)[-1]}")
        else:
            raise SystemExit(
                f"{url} holds {found:,} people (0: a demo without learning), not "
                f"{args.people:,}: give it empty"
            )
        return url
    cache = Path(args.cache or f"/tmp/pmo-pages-{args.people}.sqlite3")
    if args.rebuild or not cache.exists() or people_in(f"sqlite:///{cache}") != args.people:
        cache.unlink(missing_ok=True)
        building = cache.with_suffix(".building")
        building.unlink(missing_ok=True)
        build_demo_database(f"sqlite:///{building}", args.people, tmp)
        building.rename(cache)
        print(f"demo at {args.people:,} people built in {time.perf_counter() - started:.0f} s")
    else:
        upgrade_database(f"sqlite:///{cache}", tmp)
        print(f"demo at {args.people:,} people reused from {cache}")
    copy = tmp / "pages.sqlite3"
    shutil.copyfile(cache, copy)
    return f"sqlite:///{copy}"


def serve(module: str, url: str, port: int) -> subprocess.Popen:
    # The admin logs in by password: two-step log-in (required of admins by default) is
    # not what is measured here.
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET, "PMO_TWO_STEP_REQUIRED_FOR": ""}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "2",
            "-k",
            "sync",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            module,
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"gunicorn ({module}) did not start on port {port}")


def log_in(port: int, email: str) -> str:
    """Log in through the real form; return the session cookie."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", "/login")
    response = conn.getresponse()
    page = response.read().decode()
    cookie = cookies_of(response)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    body = urlencode({"email": email, "password": PASSWORD, "csrf_token": token})
    conn.request(
        "POST",
        "/login",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    response = conn.getresponse()
    response.read()
    if response.status != 302:
        raise SystemExit(f"log-in as {email} failed ({response.status})")
    conn.close()
    return cookies_of(response)


def cookies_of(response: http.client.HTTPResponse) -> str:
    """Every cookie the response sets, as a Cookie header (the session and any other)."""
    return "; ".join(c.split(";", 1)[0] for c in response.msg.get_all("Set-Cookie") or [])


def fetch(port: int, path: str, cookie: str | None) -> tuple[int, int]:
    """(status, body size in bytes) of one GET."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, len(body)


class ServerCpu:
    """CPU time (user + system, ms) spent by the processes serving a page: the gunicorn
    workers and, on PostgreSQL, the database's backends for the bench's database. Unlike
    the wall clock, other work on the machine barely changes it."""

    TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")

    def __init__(self, gunicorn: subprocess.Popen, url: str) -> None:
        self.master = gunicorn.pid
        self.engine = None
        if url.startswith("postgresql"):
            from sqlalchemy import create_engine

            self.engine = create_engine(url, poolclass=None)

    def pids(self) -> list[int]:
        out = []
        for task in Path(f"/proc/{self.master}/task").iterdir():
            children = (task / "children").read_text().split()
            out += [int(c) for c in children]
        if self.engine is not None:
            from sqlalchemy import text

            with self.engine.connect() as conn:
                out += list(
                    conn.scalars(
                        text(
                            "SELECT pid FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        )
                    )
                )
        return out

    def total(self) -> dict[int, float]:
        """CPU ms so far per process."""
        out = {}
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[pid] = (int(fields[11]) + int(fields[12])) * self.TICK_MS
        return out

    @staticmethod
    def spent(before: dict[int, float], after: dict[int, float]) -> float:
        return sum(ms - before.get(pid, 0.0) for pid, ms in after.items())


def burst(
    port: int, path: str, cookie: str | None, seconds: float, cpu: ServerCpu | None = None
) -> dict:
    """CONNECTIONS keep-alive connections GET ``path`` for ``seconds``: the latencies (ms),
    the errors, the elapsed time and the server's CPU time."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds
    headers = {"Cookie": cookie} if cookie else {}

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        while time.perf_counter() < stop:
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                ok = False
            if ok:
                mine.append((time.perf_counter() - started) * 1000)
            else:
                with lock:
                    errors[0] += 1
        conn.close()
        with lock:
            latencies.extend(mine)

    cpu_before = cpu.total() if cpu else {}
    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return {
        "latencies": latencies,
        "errors": errors[0],
        "elapsed": elapsed,
        "cpu_ms": ServerCpu.spent(cpu_before, cpu.total()) if cpu else None,
    }


def summary(bursts: list[dict]) -> dict:
    """Requests per second, p50 and p99 (ms), and the server's CPU ms per request, over
    ``bursts`` taken together."""
    latencies = sorted(x for b in bursts for x in b["latencies"])
    elapsed = sum(b["elapsed"] for b in bursts)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    cpu = [b["cpu_ms"] for b in bursts if b["cpu_ms"] is not None]
    return {
        "requests": len(latencies),
        "errors": sum(b["errors"] for b in bursts),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(q[49], 1),
        "p99_ms": round(q[98], 1),
        "cpu_ms_per_request": round(sum(cpu) / len(latencies), 2) if cpu and latencies else None,
    }


def drive(
    port: int, path: str, cookie: str | None, seconds: float, cpu: ServerCpu | None = None
) -> dict:
    """``burst`` summarised, with the machine's load average before and after."""
    load = load_average()
    out = summary([burst(port, path, cookie, seconds, cpu)])
    out["load_before"], out["load_after"] = load, load_average()
    return out


def paired(
    app: tuple[int, str, str | None, ServerCpu],
    floor: tuple[int, ServerCpu],
    seconds: float,
    rounds: int,
) -> tuple[dict, dict]:
    """The page and the floor in turns (``rounds`` of each, ``seconds`` in all for each),
    so that both see the same load on a shared machine: (page, floor) summaries."""
    port, path, cookie, cpu = app
    floor_port, floor_cpu = floor
    load = load_average()
    pages, floors = [], []
    for _ in range(rounds):
        floors.append(burst(floor_port, "/floor", None, seconds / rounds, floor_cpu))
        pages.append(burst(port, path, cookie, seconds / rounds, cpu))
    page, base = summary(pages), summary(floors)
    page["load_before"], page["load_after"] = load, load_average()
    return page, base


def profile(url: str, pages: list[tuple[str, str, str]], repeat: int = 21) -> dict:
    """Each page in process (the test client, no server), beside the floor page: the CPU
    time of one request (median and least of ``repeat``; CPU, not wall clock, so that
    other work on the machine stretches it less), its SQL statements and its size."""
    from sqlalchemy import event

    from app.extensions import db

    os.environ["DATABASE_URL"] = url
    from bench.floor_app import app as floor_app

    def timed(client, path: str) -> tuple[list[float], int, int]:
        client.get(path)  # warm-up
        cpu, counts, size = [], [], 0
        for _ in range(repeat):
            statements[0] = 0
            started = time.process_time()
            response = client.get(path)
            cpu.append((time.process_time() - started) * 1000)
            counts.append(statements[0])
            size = len(response.get_data())
            if response.status_code != 200:
                raise SystemExit(f"{path}: {response.status_code}")
        return cpu, max(counts), size

    statements = [0]
    floor_cpu, _, floor_size = timed(floor_app.test_client(), "/floor")
    out: dict = {
        "floor": {
            "cpu_ms": round(statistics.median(floor_cpu), 2),
            "cpu_min_ms": round(min(floor_cpu), 2),
            "bytes": floor_size,
        }
    }
    floor = out["floor"]
    print(f"  in process {'floor':18} {floor['cpu_ms']:6.1f} ms CPU (least {floor['cpu_min_ms']})")
    app = _app(url)
    with app.app_context():
        engine = db.engine

    def count(*_args) -> None:
        statements[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    clients = {}
    for who, email in LOGINS.items():
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        response = client.post(
            "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
        )
        if response.status_code != 302:
            raise SystemExit(f"log-in as {email} failed ({response.status_code})")
        clients[who] = client
    for name, who, path in pages:
        cpu, most, size = timed(clients[who], path)
        r = {
            "cpu_ms": round(statistics.median(cpu), 2),
            "cpu_min_ms": round(min(cpu), 2),
            "statements": most,
            "bytes": size,
        }
        r["cpu_vs_floor"] = round(r["cpu_ms"] / out["floor"]["cpu_ms"], 2)
        out[name] = r
        print(
            f"  in process {name:18} {r['cpu_ms']:6.1f} ms CPU (least {r['cpu_min_ms']:.1f}, "
            f"{r['cpu_vs_floor']}x the floor)  {most:3d} statements  {size / 1024:6.1f} kB"
        )
    event.remove(engine, "before_cursor_execute", count)
    with app.app_context():
        db.engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=8.0, help="per page (and its floor)")
    parser.add_argument(
        "--rounds", type=int, default=2, help="turns of floor and page the seconds are cut in"
    )
    parser.add_argument("--postgres", help="a PostgreSQL database URL (empty, or the demo)")
    parser.add_argument("--cache", help="the SQLite demo kept between runs")
    parser.add_argument("--rebuild", action="store_true", help="build the SQLite demo again")
    parser.add_argument("--pages", help="comma-separated page names (default: all)")
    parser.add_argument("--profile", action="store_true", help="also time pages in process")
    parser.add_argument("--label", default="", help="a suffix for the results file")
    parser.add_argument(
        "--profile-only", action="store_true", help="time the pages in process only (no server)"
    )
    args = parser.parse_args()
    pages = PAGES
    if args.pages:
        wanted = set(args.pages.split(","))
        unknown = wanted - {name for name, _, _ in PAGES}
        if unknown:
            raise SystemExit(f"unknown pages: {', '.join(sorted(unknown))}")
        pages = [p for p in PAGES if p[0] in wanted]
    tmp = Path(tempfile.mkdtemp(prefix="pmo-pages-"))
    try:
        run(args, pages, prepare_database(args, tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace, pages: list[tuple[str, str, str]], url: str) -> None:
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    results: dict = {
        "people": args.people,
        "backend": backend,
        "seconds": args.seconds,
        "connections": CONNECTIONS,
        "workers": 2,
        "cores": os.cpu_count(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if args.profile or args.profile_only:
        results["in_process"] = profile(url, pages)
    if args.profile_only:
        return
    app_port, floor_port = free_port(), free_port()
    app_proc = serve("wsgi:app", url, app_port)
    floor_proc = serve("bench.floor_app:app", url, floor_port)
    try:
        app_cpu, floor_cpu = ServerCpu(app_proc, url), ServerCpu(floor_proc, url)
        cookies = {who: log_in(app_port, email) for who, email in LOGINS.items()}
        drive(floor_port, "/floor", None, 1.0)  # warm-up
        floor = drive(floor_port, "/floor", None, args.seconds, floor_cpu)
        floor["bytes"] = fetch(floor_port, "/floor", None)[1]
        results["floor"] = floor
        print(
            f"{'floor':18} {floor['rps']:8.1f} req/s  p50 {floor['p50_ms']:6.1f} ms  "
            f"p99 {floor['p99_ms']:6.1f} ms  {floor['bytes'] / 1024:6.1f} kB  "
            f"CPU {floor['cpu_ms_per_request']} ms/req  load {floor['load_before'][0]}"
        )
        for name, who, path in pages:
            status, size = fetch(app_port, path, cookies[who])
            if status != 200:
                raise SystemExit(f"{path} as {who}: {status}")
            drive(app_port, path, cookies[who], 1.0)  # warm-up
            r, base = paired(
                (app_port, path, cookies[who], app_cpu),
                (floor_port, floor_cpu),
                args.seconds,
                args.rounds,
            )
            r["path"], r["who"], r["bytes"], r["floor"] = path, who, size, base
            r["share_of_floor"] = round(r["rps"] / base["rps"], 3)
            r["p99_vs_floor"] = round(r["p99_ms"] / base["p99_ms"], 2)
            r["meets_target"] = r["share_of_floor"] >= 0.25 and r["p99_vs_floor"] <= 4
            if r["cpu_ms_per_request"] and base["cpu_ms_per_request"]:
                r["cpu_vs_floor"] = round(r["cpu_ms_per_request"] / base["cpu_ms_per_request"], 2)
            results[name] = r
            print(
                f"{name:18} {r['rps']:8.1f} req/s  p50 {r['p50_ms']:6.1f} ms  "
                f"p99 {r['p99_ms']:6.1f} ms  {100 * r['share_of_floor']:5.1f}% of floor "
                f"({base['rps']} req/s)  p99 {r['p99_vs_floor']}x  {size / 1024:6.1f} kB  "
                f"CPU {r['cpu_ms_per_request']} ms/req ({r.get('cpu_vs_floor')}x)  "
                f"errors {r['errors']}  load {r['load_before'][0]}"
                f"{'' if r['meets_target'] else '  MISSES'}"
            )
    finally:
        for proc in (app_proc, floor_proc):
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    name = f"pages-{backend}{'-' + args.label if args.label else ''}.json"
    (out / name).write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to bench/results/{name}")


if __name__ == "__main__":
    main()
