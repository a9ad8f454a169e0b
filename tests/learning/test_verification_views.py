"""Certificate pages through HTTP: the learner's certificate (printable, with its code and
QR code), who may open it, the public verification page (what it shows, what it never
shows, revoked and unknown codes), and a trainer revoking one.

CSRF protection stays on: every POST sends back the csrf_token of the page it comes from.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from app.accounts.models import Permission
from app.extensions import db
from app.learning.certificates import issue_certificate
from app.learning.models import CompletionCertificate
from app.learning.qr import qr_svg
from tests.factories import make_person, make_unit, make_user
from tests.learning.certificate_helpers import M, csrf_for, enrol, load_shipped, make_path

BASE = "https://pathways.example.test"  # TestConfig's PUBLIC_BASE_URL
STATIC = Path(__file__).resolve().parents[2] / "app" / "static"


class _Resources(HTMLParser):
    """Every address the page loads by itself (stylesheets, scripts, images, frames)."""

    def __init__(self):
        super().__init__()
        self.loaded: list[str] = []
        self.stylesheets: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and a.get("href"):
            self.loaded.append(a["href"])
            if a.get("rel") == "stylesheet":
                self.stylesheets.append(a["href"])
        elif tag in ("script", "img", "iframe", "embed", "source", "audio", "video"):
            if a.get("src"):
                self.loaded.append(a["src"])
        elif tag == "object" and a.get("data"):
            self.loaded.append(a["data"])


def resources(html: str) -> _Resources:
    parser = _Resources()
    parser.feed(html)
    return parser


@pytest.fixture
def world(app, session):
    """Lee, a learner in Delivery, with a certificate; Mo heads Delivery; Max heads Finance."""
    load_shipped(session)
    delivery, finance = make_unit("Delivery"), make_unit("Finance")
    mo = make_person("Mo", "Manager", unit=delivery)
    delivery.head_id = mo.id
    mx = make_person("Max", "Otherhead", unit=finance)
    finance.head_id = mx.id
    lee = make_person("Lee", "Learner", unit=delivery)
    lee.email = "lee.learner@harbourside.test"
    version = make_path(
        M(evidences={"GOV-05": 1}, minutes=90),
        M(evidences={"GOV-05": 2, "GOV-01": 1}, minutes=120),
        code="P3OF",
        title="P3O Foundation preparation",
    )
    cert = issue_certificate(session, enrol(lee, version, complete=True))
    users = {
        "lee": make_user(Permission.LEARNER, person=lee),
        "other": make_user(Permission.LEARNER),
        "mo": make_user(Permission.MANAGER, person=mo),
        "max": make_user(Permission.MANAGER, person=mx),
        "trainer": make_user(Permission.TRAINER),
    }
    session.commit()
    return {"cert": cert, "users": users, "lee": lee}


def page_of(cert) -> str:
    return f"/learning/certificates/{cert.id}"


def test_the_learner_sees_their_certificate_with_code_and_qr_code(client, login, world):
    cert = world["cert"]
    login(world["users"]["lee"])
    page = client.get(page_of(cert))
    assert page.status_code == 200
    text = page.text
    assert "Lee Learner" in text
    assert "P3O Foundation preparation" in text and "version 1" in text
    assert cert.issued_at.strftime("%d %B %Y") in text
    assert "3.5 hours" in text
    assert re.search(r"GOV-05</td><td>[^<]+</td><td[^>]*>2</td>", text)
    assert re.search(r"GOV-01</td><td>[^<]+</td><td[^>]*>1</td>", text)
    url = f"{BASE}/verify/{cert.code}"
    assert f'href="{url}"' in text and cert.code in text
    # the QR code is drawn inline, encoding the public verification address
    assert qr_svg(url, title="QR code of the verification address") in text


def test_the_certificate_prints_on_one_a4_page_and_loads_nothing_from_elsewhere(
    client, login, world
):
    login(world["users"]["lee"])
    text = client.get(page_of(world["cert"])).text
    found = resources(text)
    assert "/static/css/certificate.css" in found.stylesheets
    for address in found.loaded:
        assert address.startswith("/"), f"the page loads {address}"
        assert not address.startswith("//"), f"the page loads {address}"
    assert "<img" not in text  # the QR code is inline SVG, not an image fetched
    css = (STATIC / "css" / "certificate.css").read_text()
    assert re.search(r"@page\s*\{[^}]*size:\s*A4", css)
    print_rules = css[css.index("@media print") :]
    assert re.search(r"nav[^{]*\{[^}]*display:\s*none", print_rules)
    # and the stylesheet is really served
    served = client.get("/static/css/certificate.css")
    served.close()
    assert served.status_code == 200


@pytest.mark.parametrize(
    ("who", "status"),
    [("lee", 200), ("mo", 200), ("trainer", 200), ("other", 404), ("max", 404)],
)
def test_who_may_open_a_certificate_page(client, login, world, who, status):
    login(world["users"][who])
    assert client.get(page_of(world["cert"])).status_code == status


def test_an_unknown_certificate_id_is_404_like_someone_elses(client, login, world):
    login(world["users"]["other"])
    assert client.get("/learning/certificates/987654").status_code == 404


def test_anyone_can_check_a_certificate_and_sees_only_what_it_states(client, world):
    cert, lee = world["cert"], world["lee"]
    page = client.get(f"/verify/{cert.code}")  # nobody signed in
    assert page.status_code == 200
    text = page.text
    assert "Valid certificate" in text
    assert "Lee Learner" in text and "P3O Foundation preparation" in text
    assert "GOV-05" in text and "3.5 hours" in text
    for private in (lee.email, lee.employee_number, "Delivery", "Mo Manager"):
        assert private not in text, f"the public page shows {private!r}"
    assert 'name="robots" content="noindex"' in text


def test_unknown_and_malformed_codes_get_the_same_honest_404(client, world):
    unknown = client.get("/verify/" + "Q" * 22)
    assert unknown.status_code == 404
    assert "No certificate with this code" in unknown.text
    for malformed in ("not%20a%20code!", "abc", world["cert"].code[:-1] + "/x", "..%2F.."):
        again = client.get(f"/verify/{malformed}")
        assert again.status_code == 404, malformed
        assert again.text == unknown.text, malformed


def test_a_trainer_revokes_with_a_reason_and_the_public_page_says_so(client, login, world):
    cert = world["cert"]
    login(world["users"]["trainer"])
    url = f"{page_of(cert)}/revoke"
    confirm = client.get(url)
    assert confirm.status_code == 200 and "Revoke Lee Learner" in confirm.text

    no_reason = client.post(url, data={"csrf_token": csrf_for(client, url), "reason": " "})
    assert no_reason.status_code == 200
    assert "Say why the certificate is revoked." in no_reason.text
    assert db.session.get(CompletionCertificate, cert.id).revoked_at is None

    done = client.post(
        url,
        data={"csrf_token": csrf_for(client, url), "reason": "Attendance was recorded in error."},
    )
    assert done.status_code == 302
    revoked = db.session.get(CompletionCertificate, cert.id)
    assert revoked.revoked_at is not None
    assert revoked.revoked_by_id == world["users"]["trainer"].id

    client.post("/logout", data={"csrf_token": csrf_for(client, "/")})
    public = client.get(f"/verify/{cert.code}")
    assert public.status_code == 200
    on = revoked.revoked_at.strftime("%d %B %Y")
    assert f"Revoked on {on}: Attendance was recorded in error." in public.text
    assert "Valid certificate" not in public.text


def test_the_learner_sees_the_revocation_on_their_certificate_and_list(client, login, world):
    cert = world["cert"]
    cert.revoked_at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    cert.revoked_reason = "Issued to the wrong person."
    db.session.commit()
    login(world["users"]["lee"])
    page = client.get(page_of(cert)).text
    assert "Revoked on 02 March 2026: Issued to the wrong person." in page
    assert "Revoke…" not in page  # learners do not revoke
    mine = client.get("/learning/certificates").text
    assert "P3O Foundation preparation" in mine and "Revoked" in mine


def test_learners_and_managers_cannot_revoke(client, login, world):
    url = f"{page_of(world['cert'])}/revoke"
    for who in ("lee", "mo"):
        login(world["users"][who])
        assert client.get(url).status_code == 403


def test_my_certificates_lists_mine_only(client, login, world):
    login(world["users"]["other"])
    page = client.get("/learning/certificates")
    assert page.status_code == 200
    assert "P3O Foundation preparation" not in page.text
    assert "No certificate yet" in page.text
    login(world["users"]["lee"])
    page = client.get("/learning/certificates").text
    assert f'href="{page_of(world["cert"])}"' in page


def test_a_manager_sees_their_persons_certificates_and_not_others(client, login, world):
    lee = world["lee"]
    login(world["users"]["mo"])
    page = client.get(f"/learning/people/{lee.id}/certificates")
    assert page.status_code == 200 and "P3O Foundation preparation" in page.text
    login(world["users"]["max"])
    assert client.get(f"/learning/people/{lee.id}/certificates").status_code == 404


def test_trainers_list_and_search_certificates_issued(client, login, world):
    login(world["users"]["trainer"])
    page = client.get("/learning/certificates/issued?q=learner")
    assert page.status_code == 200 and "Lee Learner" in page.text
    none = client.get("/learning/certificates/issued?q=nobody-by-that-name")
    assert "No certificate matches." in none.text
    login(world["users"]["lee"])
    assert client.get("/learning/certificates/issued").status_code == 403
