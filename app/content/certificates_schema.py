"""The certificate catalogue file (curricula/certificates.yaml): its schema and checks.

``kind: certificate-catalogue`` lists the external certificates a learner can record as
evidence and what each proves: for each competency it ``evidences``, a level never above
the certificate's ``max_level`` (nor the framework's cap for external certificates).

Checking returns the canonical certificate list (``app.framework.content``) or raises
``ContentInvalid`` with every error at its file, line and key path.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import String

from app.content.files import ContentFile, ContentInvalid, schema_errors
from app.framework.content import (
    FrameworkContent,
    certificate_problems,
    certificates_from_data,
)
from app.framework.models import Certificate, Source
from app.framework.scale import CODE_MAX_LENGTH, CODE_PATTERN, MAX_LEVEL

_CODE = {"type": "string", "pattern": CODE_PATTERN, "maxLength": CODE_MAX_LENGTH}


def _text(column: str) -> dict:
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": cast(String, Certificate.__table__.c[column].type).length,
    }


CERTIFICATES_SCHEMA = {
    "type": "object",
    "required": ["kind", "framework", "certificates"],
    "additionalProperties": False,
    "properties": {
        "kind": {"const": "certificate-catalogue"},
        "framework": {"type": "string"},
        "certificates": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "name", "issuer", "expires", "max_level", "evidences"],
                "additionalProperties": False,
                "properties": {
                    "code": _CODE,
                    "name": _text("name"),
                    "issuer": _text("issuer"),
                    "expires": {"type": "boolean"},
                    "max_level": {"type": "integer", "minimum": 1, "maximum": MAX_LEVEL},
                    "evidences": {
                        "type": "object",
                        "minProperties": 1,
                        "propertyNames": _CODE,
                        "additionalProperties": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_LEVEL,
                        },
                    },
                },
            },
        },
    },
}


def check_certificates(content: ContentFile, framework: FrameworkContent | None) -> list[dict]:
    """Validate a certificate catalogue (against ``framework`` when given: its competency
    codes and its cap for external certificates); return the canonical certificates."""
    errors = schema_errors(content, CERTIFICATES_SCHEMA)
    if errors:
        raise ContentInvalid(errors)
    data = content.data
    assert isinstance(data, dict)
    known = set(framework.competency_codes()) if framework else None
    cap = framework.caps.get(Source.EXTERNAL_CERTIFICATE.value) if framework else None
    certs = data["certificates"]
    for i, cert in enumerate(certs):
        for problem in certificate_problems(cert, others=certs[:i], known=known, cap=cap):
            also = f" (also certificates[{problem.also}])" if problem.also is not None else ""
            errors.append(content.error(f"certificates[{i}].{problem.key}", problem.message + also))
    if errors:
        raise ContentInvalid(errors)
    return certificates_from_data(data)
