"""What gunicorn cannot read still gets the product's own page (issue 9, point 6).

gunicorn reads request lines up to 8,190 characters and header lines up to 8,190; past
those it never calls the app. Its worker (app/serving.py) then answers with the app's own
refusal page, as a browser sending a very long search or a swollen cookie would see it:
the site's layout and words, its security headers and an incident reference, not
gunicorn's bare "Request Line is too large (16384 > 8190)".
"""

from __future__ import annotations

import http.client
from html import unescape

import pytest

from tests.served import Gunicorn

SECRET = "refusals-test-secret-key-0123456789abcdef"


@pytest.fixture
def served(database_url, tmp_path):
    server = Gunicorn(database_url, SECRET, tmp_path, workers=1)
    try:
        yield server
    finally:
        server.stop()


def get(server: Gunicorn, path: str, headers: dict[str, str] | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), unescape(response.read().decode())
    finally:
        connection.close()


def the_products_page(headers: dict[str, str], body: str) -> None:
    assert "PMO Pathways" in body and "<nav" in body  # the site's own layout
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Incident-Id"]
    assert "gunicorn" not in body.lower() and "Request Line" not in body


@pytest.mark.parametrize("length", [3_000, 8_000, 20_000, 100_000])
def test_a_search_too_long_for_the_site_or_the_server_gets_the_products_page(served, length):
    status, headers, body = get(served, "/login?q=" + "x" * length)
    assert status == 414
    assert "Address too long" in body and "Shorten the search" in body
    the_products_page(headers, body)


def test_headers_too_large_for_the_server_get_the_products_page(served):
    status, headers, body = get(served, "/login", {"Cookie": "crumbs=" + "c" * 12_000})
    assert status == 431
    assert "Request too large" in body and "cookies have been cleared" in body
    assert headers["Clear-Site-Data"] == '"cookies"'  # the way back in
    the_products_page(headers, body)


def test_the_worker_still_serves_after_refusing(served):
    for _ in range(3):
        assert get(served, "/login?q=" + "x" * 20_000)[0] == 414
    status, _, body = get(served, "/login")
    assert status == 200 and "Log in" in body
    assert "Invalid request" in served.log()  # refused, and said so in the server's log
