"""D2, the security headers on each type of response (checklist RELIABILITY.md D2).

Each kind of answer the app gives is fetched once: an HTML page, a redirect (signed out and
signed in), JSON, CSV, XLSX, a PDF someone uploaded, 403, 404, 405, 413, a 500 (from a
route registered for this test only, as tests/accounts/test_auth.py does), and a static
file, signed out and signed in. Each carries the Content-Security-Policy, nosniff,
Referrer-Policy, X-Frame-Options DENY (and frame-ancestors 'none'), and no-store whenever
someone is signed in (static files, the same for everyone, may be cached). The GET crawl in
test_csrf_sweep.py checks the same headers on every response of every route.
"""

from __future__ import annotations

import pytest
from flask import Flask

from app.access import PUBLIC, allow
from tests.security.world import (
    ADMIN,
    ANON,
    LEARNER,
    MANAGER,
    World,
    csrf_of,
    header_problems,
    seeded_world,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FAILING = "/sweep-failing-route"


def add_failing_route(app: Flask) -> None:
    @app.route(FAILING, endpoint="sweep_failing_route")
    @allow(PUBLIC)
    def failing():
        raise RuntimeError("sweep: a deliberate failure")


@pytest.fixture(scope="module")
def world(database_url):
    with seeded_world(database_url, prepare=add_failing_route) as built:
        yield built


def _post_too_large(client, world: World):
    body = {
        "csrf_token": csrf_of(client),
        "note": "x" * (world.app.config["MAX_FORM_MEMORY_SIZE"] + 1),
    }
    return client.post("/capability/self-rating", data=body)


#: (response type, audience, request(client, world), status, content type)
CASES = [
    ("html page", LEARNER, lambda c, w: c.get("/"), 200, "text/html"),
    ("redirect to log in", ANON, lambda c, w: c.get("/"), 302, None),
    ("redirect when signed in", LEARNER, lambda c, w: c.get("/login"), 302, None),
    (
        "json",
        ADMIN,
        lambda c, w: c.get(f"/admin/imports/{w.args['batch_id']}/mapping.json"),
        200,
        "application/json",
    ),
    ("csv", ADMIN, lambda c, w: c.get("/admin/audit.csv"), 200, "text/csv"),
    ("xlsx", MANAGER, lambda c, w: c.get("/reports/readiness.xlsx"), 200, XLSX),
    (
        "uploaded pdf",
        LEARNER,
        lambda c, w: c.get(f"/learning/external/{w.args['record_id']}/file"),
        200,
        "application/pdf",
    ),
    ("403", LEARNER, lambda c, w: c.get("/admin/people"), 403, "text/html"),
    ("404", LEARNER, lambda c, w: c.get("/no/such/page"), 404, "text/html"),
    ("404 signed out", ANON, lambda c, w: c.get("/no/such/page"), 404, "text/html"),
    ("405", LEARNER, lambda c, w: c.get("/logout"), 405, "text/html"),
    ("413", LEARNER, _post_too_large, 413, "text/html"),
    ("500", LEARNER, lambda c, w: c.get(FAILING), 500, "text/html"),
    ("500 signed out", ANON, lambda c, w: c.get(FAILING), 500, "text/html"),
    ("static file", ANON, lambda c, w: c.get("/static/css/app.css"), 200, "text/css"),
    ("static file signed in", LEARNER, lambda c, w: c.get("/static/css/app.css"), 200, "text/css"),
    (
        "bootstrap file",
        LEARNER,
        lambda c, w: c.get("/bootstrap/static/css/bootstrap.min.css"),
        200,
        "text/css",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_each_type_of_response_carries_the_security_headers(world, case):
    name, audience, fetch, status, content_type = case
    client = world.client(audience)
    response = fetch(client, world)
    response.close()  # files are streamed: the body is not needed past this point
    assert response.status_code == status, (name, response.status_code)
    if content_type:
        assert response.content_type.startswith(content_type), response.content_type
    endpoint = {"static file": "static", "static file signed in": "static"}.get(name)
    if name == "bootstrap file":
        endpoint = "bootstrap.static"
    problems = header_problems(response, signed_in=audience != ANON, endpoint=endpoint)
    assert not problems, f"{name}: {problems}"
    if response.content_type.startswith("text/html"):
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_the_failing_route_shows_the_error_page_without_its_details(world):
    response = world.client(ANON).get(FAILING)
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "deliberate failure" not in response.text and "Traceback" not in response.text


def test_signed_out_pages_may_be_cached_but_signed_in_ones_never(world):
    """Control for the no-store check: it is about being signed in (the log-in page is the
    same for every visitor)."""
    signed_out = world.client(ANON).get("/login")
    assert "no-store" not in signed_out.headers.get("Cache-Control", "")
    signed_in = world.client(LEARNER).get("/me")
    assert "no-store" in signed_in.headers.get("Cache-Control", "")
