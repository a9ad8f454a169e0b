"""Everyday pages under load: gunicorn, two sync workers, 16 connections, the demo at 20,000.

What a user opens daily — learner home, my capability, a manager's team and validation
queue, the admin's people list — each served by gunicorn (2 sync workers) from the
20,000-person demo organisation and driven by 16 concurrent keep-alive connections on the
loopback. The floor is measured in the same run the same way: a Flask page with one indexed
50-row ORM query and a 50-row template (bench/floor_app.py) on the same database.

Reported per page: requests per second, p50 and p99 latency, the throughput as a share of
the floor's, and p99 as a multiple of the floor's p99. Targets (issue 9): every page at
least 25% of the floor's throughput, p99 within 4x the floor's.

Usage:
  .venv/bin/python bench/pages_bench.py [--people 20000] [--seconds 8] [--postgres URL]
With --postgres the demo is built in that (empty) database instead of a SQLite file.
Results go to stdout and bench/results/pages.json. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import socket
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
#: (name, who, path)
PAGES = [
    ("learner_home", "learner", "/"),
    ("my_capability", "learner", "/capability"),
    ("my_team", "manager", "/team"),
    ("validation_queue", "manager", "/validations"),
    ("admin_people", "admin", "/admin/people"),
]
CONNECTIONS = 16
SECRET = "bench-secret-key-0123456789abcdef0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_database(url: str, people: int) -> None:
    """Migrate, load the shipped content and build the demo organisation at ``url``."""
    from flask_migrate import upgrade

    from app import create_app
    from app.content.framework_load import load_framework
    from app.content.roles import load_roles
    from app.demo.organisation import build_demo
    from app.extensions import db

    app = create_app(SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=SECRET)
    with app.app_context():
        upgrade()
        curricula = ROOT / "curricula"
        load_roles(db.session, curricula / "roles.yaml")
        load_framework(
            db.session,
            curricula / "framework.yaml",
            curricula / "role-profiles.yaml",
            certificates_path=curricula / "certificates.yaml",
        )
        db.session.commit()
        build_demo(db.session, people=people, seed=7)
        db.session.commit()
        db.engine.dispose()


def serve(module: str, url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET}
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
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login")
    response = conn.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
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
    return response.getheader("Set-Cookie", "").split(";", 1)[0]


def drive(port: int, path: str, cookie: str | None, seconds: float) -> dict:
    """CONNECTIONS keep-alive connections GET ``path`` for ``seconds``; latencies in ms."""
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

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "requests": len(latencies),
        "errors": errors[0],
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(q[49], 1),
        "p99_ms": round(q[98], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--postgres", help="an empty PostgreSQL database URL to build in")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pmo-pages-"))
    url = args.postgres or f"sqlite:///{tmp / 'pages.sqlite3'}"
    started = time.perf_counter()
    build_database(url, args.people)
    print(f"demo at {args.people:,} people built in {time.perf_counter() - started:.0f} s")

    app_port, floor_port = free_port(), free_port()
    app_proc = serve("wsgi:app", url, app_port)
    floor_proc = serve("bench.floor_app:app", url, floor_port)
    results: dict = {
        "people": args.people,
        "backend": url.split(":", 1)[0],
        "seconds": args.seconds,
        "connections": CONNECTIONS,
        "workers": 2,
    }
    try:
        cookies = {who: log_in(app_port, email) for who, email in LOGINS.items()}
        drive(floor_port, "/floor", None, 1.0)  # warm-up
        floor = drive(floor_port, "/floor", None, args.seconds)
        results["floor"] = floor
        print(
            f"{'floor':18} {floor['rps']:8.1f} req/s  p50 {floor['p50_ms']:6.1f} ms  "
            f"p99 {floor['p99_ms']:6.1f} ms"
        )
        for name, who, path in PAGES:
            drive(app_port, path, cookies[who], 1.0)  # warm-up
            r = drive(app_port, path, cookies[who], args.seconds)
            r["share_of_floor"] = round(r["rps"] / floor["rps"], 3)
            r["p99_vs_floor"] = round(r["p99_ms"] / floor["p99_ms"], 1)
            results[name] = r
            print(
                f"{name:18} {r['rps']:8.1f} req/s  p50 {r['p50_ms']:6.1f} ms  "
                f"p99 {r['p99_ms']:6.1f} ms  {100 * r['share_of_floor']:5.1f}% of floor  "
                f"p99 {r['p99_vs_floor']}x  errors {r['errors']}"
            )
    finally:
        for proc in (app_proc, floor_proc):
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    name = f"pages-{results['backend']}.json"
    (out / name).write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to bench/results/{name}")


if __name__ == "__main__":
    main()
