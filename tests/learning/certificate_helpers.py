"""Shared set-up for the certificate, external-certificate, upload and reminder tests:
enrolments built straight into the tables (the enrolment use-cases have tests of their
own), the shipped framework with its certificate catalogue, small real PDF and PNG files,
and the CSRF round trip."""

from __future__ import annotations

import re
import struct
import zlib
from datetime import date

from app.extensions import db
from app.learning.models import (
    CompletionMethod,
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    ModuleCompletion,
    PathVersion,
)
from app.org.models import Person
from tests.framework.test_services import load_shipped
from tests.learning.factories import M, make_path

__all__ = ["M", "enrol", "load_shipped", "make_path"]


def enrol(
    person: Person,
    version: PathVersion,
    *,
    done: list[str] | None = None,
    complete: bool = False,
    due_on: date | None = None,
) -> Enrolment:
    """An enrolment of ``person`` on ``version``, with the modules ``done`` (codes) marked
    complete; ``complete`` marks every module complete and the enrolment completed."""
    enrolment = Enrolment(
        person_id=person.id,
        path_id=version.path_id,
        version_id=version.id,
        source=EnrolmentSource.HAND,
        status=EnrolmentStatus.COMPLETED if complete else EnrolmentStatus.ACTIVE,
        due_on=due_on,
    )
    db.session.add(enrolment)
    db.session.flush()
    codes = [m.code for m in version.modules] if complete else list(done or [])
    for module in version.modules:
        if module.code in codes:
            db.session.add(
                ModuleCompletion(
                    enrolment_id=enrolment.id,
                    module_id=module.id,
                    module_code=module.code,
                    method=CompletionMethod.SELF,
                )
            )
    db.session.flush()
    return enrolment


# --- files ------------------------------------------------------------------------------------


def tiny_pdf() -> bytes:
    """A minimal, well-formed one-page PDF: header, catalogue, pages, xref and trailer."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def tiny_png() -> bytes:
    """A real 1x1 white PNG, built with zlib."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


# --- HTTP -------------------------------------------------------------------------------------


def csrf_from(html: str) -> str:
    tag = re.search(r'<input[^>]*\bname="csrf_token"[^>]*>', html)
    assert tag, "the page has no csrf_token input"
    found = re.search(r'\bvalue="([^"]+)"', tag.group(0))
    assert found
    return found.group(1)


def csrf_for(client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, f"GET {path} gave {page.status_code}"
    return csrf_from(page.text)
