"""Uploaded copies of external certificates: only real PDFs and images are kept, by their
content whatever their name, at most 5 MB (refused while reading, never stored), stored
outside the web root under random names, and served only through the guarded download to
the learner, their managers and training specialists."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.accounts.models import Permission
from app.errors import DomainError
from app.extensions import db
from app.learning import uploads
from app.learning.models import ExternalCertificate
from tests.factories import make_person, make_unit, make_user
from tests.learning.certificate_helpers import csrf_for, load_shipped, tiny_pdf, tiny_png

PHP_AS_PDF = b"<?php system($_GET['c']); ?>\n<html><script>alert(1)</script></html>\n"


def stored(folder) -> set[str]:
    folder = Path(folder)
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


# --- the checks, without the web -------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type", "extension"),
    [
        (tiny_pdf(), "application/pdf", "pdf"),
        (tiny_png(), "image/png", "png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64, "image/jpeg", "jpg"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 64, "image/webp", "webp"),
    ],
)
def test_pdf_and_images_are_accepted_by_their_content(data, content_type, extension):
    checked = uploads.check_upload(io.BytesIO(data), "whatever-it-is-called.txt")
    assert (checked.content_type, checked.extension) == (content_type, extension)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (PHP_AS_PDF, "certificate.pdf"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "c.png"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "c.jpg"),
        (b"PK\x03\x04" + b"\x00" * 64, "c.pdf"),
    ],
)
def test_anything_else_is_refused_whatever_its_name(data, name):
    with pytest.raises(DomainError) as refused:
        uploads.check_upload(io.BytesIO(data), name)
    assert refused.value.field == "file"
    assert "not a PDF, or a PNG, JPEG or WEBP image" in refused.value.message


def test_an_empty_file_is_refused():
    with pytest.raises(DomainError, match="empty"):
        uploads.check_upload(io.BytesIO(b""), "empty.pdf")


class CountingStream(io.RawIOBase):
    """An endless PDF-looking stream that counts what was read from it."""

    def __init__(self):
        self.read_bytes = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = len(buffer)
        head = b"%PDF-1.4\n"
        data = (head + b"0" * n)[:n] if self.read_bytes == 0 else b"0" * n
        buffer[:n] = data
        self.read_bytes += n
        return n


def test_the_size_is_checked_while_reading_and_the_rest_is_never_read():
    stream = CountingStream()
    with pytest.raises(DomainError, match="larger than 5 MB"):
        uploads.check_upload(stream, "huge.pdf")
    assert stream.read_bytes <= uploads.MAX_BYTES + uploads.CHUNK


def test_stored_names_are_random_and_cannot_point_outside_the_folder(tmp_path):
    checked = uploads.check_upload(io.BytesIO(tiny_pdf()), "../../etc/passwd.pdf")
    first, second = uploads.save(tmp_path, checked), uploads.save(tmp_path, checked)
    assert first.name != second.name and first.name.endswith(".pdf")
    assert first.original_name == "passwd.pdf"
    assert uploads.stored_path(tmp_path, first.name) == tmp_path / first.name
    for name in ["../secret_key", "/etc/passwd", first.name + "/..", "x.pdf", None]:
        assert uploads.stored_path(tmp_path, name) is None


# --- through the form -------------------------------------------------------------------------


@pytest.fixture
def org(app, session):
    """Lee (learner) in Delivery, headed by Mo; Max heads Finance; another learner; a
    trainer; an administrator without the trainer permission."""
    load_shipped(session)
    delivery, finance = make_unit("Delivery"), make_unit("Finance")
    mo, mx = make_person("Mo", "Manager", unit=delivery), make_person("Max", unit=finance)
    delivery.head_id, finance.head_id = mo.id, mx.id
    users = {
        "lee": make_user(Permission.LEARNER, person=make_person("Lee", unit=delivery)),
        "other": make_user(Permission.LEARNER),
        "mo": make_user(Permission.MANAGER, person=mo),
        "max": make_user(Permission.MANAGER, person=mx),
        "trainer": make_user(Permission.TRAINER),
        "admin": make_user(Permission.ADMIN),
    }
    session.commit()
    return users


def multipart(fields: dict[str, str], data: bytes, name: str, content_type: str):
    """A multipart/form-data body built by hand: the test client spools bodies over
    500 KB to a temporary file it never closes (a ResourceWarning, an error here)."""
    boundary = "----pmo-test-boundary-7d1f"
    out = io.BytesIO()
    for key, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'.encode())
        out.write(value.encode() + b"\r\n")
    out.write(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode()
    )
    out.write(data + f"\r\n--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def upload(client, data: bytes, name: str):
    """Post the record form with ``data`` as the file, which the browser calls a PDF."""
    url = "/learning/external/new"
    fields = {
        "csrf_token": csrf_for(client, url),
        "certificate": "PRINCE2-F",
        "number": "",
        "issued_on": "2024-02-01",
    }
    body, content_type = multipart(fields, data, name, "application/pdf")
    return client.post(url, data=body, content_type=content_type)


def records() -> int:
    return db.session.scalar(select(func.count()).select_from(ExternalCertificate))


def test_a_php_page_named_pdf_is_refused_with_a_message_and_nothing_kept(app, client, login, org):
    folder = app.config["UPLOAD_FOLDER"]
    before = stored(folder)
    login(org["lee"])
    page = upload(client, PHP_AS_PDF, "certificate.pdf")
    assert page.status_code == 200
    assert "This file is not a PDF, or a PNG, JPEG or WEBP image" in page.text
    assert 'class="form-control is-invalid"' in page.text or "is-invalid" in page.text
    assert records() == 0 and stored(folder) == before


def test_five_megabytes_and_one_byte_is_refused_without_being_stored(app, client, login, org):
    folder = app.config["UPLOAD_FOLDER"]
    before = stored(folder)
    login(org["lee"])
    big = tiny_pdf() + b"0" * (uploads.MAX_BYTES + 1 - len(tiny_pdf()))
    assert len(big) == 5 * 1024 * 1024 + 1
    page = upload(client, big, "scan.pdf")
    assert page.status_code == 200 and "The file is larger than 5 MB." in page.text
    assert records() == 0 and stored(folder) == before
    # exactly 5 MB is fine
    assert upload(client, big[:-1], "scan.pdf").status_code == 302
    assert records() == 1


@pytest.mark.parametrize(
    ("data", "name", "content_type"),
    [(tiny_pdf(), "certificate.pdf", "application/pdf"), (tiny_png(), "photo.pdf", "image/png")],
)
def test_a_real_pdf_or_png_is_stored_outside_the_web_root_under_a_random_name(
    app, client, login, org, data, name, content_type
):
    login(org["lee"])
    assert upload(client, data, name).status_code == 302
    rec = db.session.scalars(select(ExternalCertificate)).one()
    assert rec.file_type == content_type  # from the content, not the name or the browser
    assert rec.original_name == name and rec.file_size == len(data)
    path = Path(app.config["UPLOAD_FOLDER"]) / rec.file_name
    assert path.read_bytes() == data
    assert name not in rec.file_name
    static = Path(app.static_folder).resolve()
    assert static not in path.resolve().parents
    assert Path(app.root_path).resolve() not in path.resolve().parents
    # no address serves it but the guarded download
    for address in (
        f"/static/{rec.file_name}",
        f"/static/../{rec.file_name}",
        f"/uploads/{rec.file_name}",
        f"/instance/uploads/{rec.file_name}",
        f"/{rec.file_name}",
    ):
        response = client.get(address)
        response.close()
        assert response.status_code == 404, address
    # the only routes serving files by a name in the address are the static folders
    serving = {r.endpoint for r in app.url_map.iter_rules() if "<path:" in r.rule}
    assert serving - {"learning.verify"} == {"static", "bootstrap.static"}


@pytest.fixture
def uploaded(client, login, org):
    login(org["lee"])
    assert upload(client, tiny_pdf(), "my certificate.pdf").status_code == 302
    return db.session.scalars(select(ExternalCertificate)).one()


def fetch(client, rec):
    response = client.get(f"/learning/external/{rec.id}/file")
    body = response.data
    response.close()
    return response, body


@pytest.mark.parametrize("who", ["lee", "mo", "trainer"])
def test_the_learner_their_manager_and_trainers_download_it(client, login, org, uploaded, who):
    login(org[who])
    response, body = fetch(client, uploaded)
    assert response.status_code == 200
    assert body == tiny_pdf()
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert f"certificate-{uploaded.id}.pdf" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("who", ["other", "max", "admin"])
def test_anyone_else_gets_404_for_the_file_and_the_record(client, login, org, uploaded, who):
    login(org[who])
    assert fetch(client, uploaded)[0].status_code == 404
    assert client.get(f"/learning/external/{uploaded.id}").status_code == 404
    assert client.get("/learning/external/987654/file").status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, org, uploaded):
    client.post("/logout", data={"csrf_token": csrf_for(client, "/")})
    response, _ = fetch(client, uploaded)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_record_page_links_the_download_for_the_manager(client, login, org, uploaded):
    login(org["mo"])
    page = client.get(f"/learning/external/{uploaded.id}")
    assert page.status_code == 200
    assert f'href="/learning/external/{uploaded.id}/file"' in page.text
    assert "my certificate.pdf" in page.text
