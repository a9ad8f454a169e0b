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

from app.content.files import ContentError, ContentFile, ContentInvalid, schema_errors
from app.framework.content import FrameworkContent, certificates_from_data
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
    codes: dict[str, int] = {}
    names: dict[str, int] = {}
    for i, cert in enumerate(data["certificates"]):
        here = f"certificates[{i}]"
        for key, seen in (("code", codes), ("name", names)):
            value = " ".join(cert[key].split()).casefold()
            if value in seen:
                errors.append(
                    content.error(
                        f"{here}.{key}",
                        f"duplicate {key} {cert[key]!r} (also certificates[{seen[value]}])",
                    )
                )
            seen.setdefault(value, i)
        if cap is not None and cert["max_level"] > cap:
            errors.append(
                content.error(
                    f"{here}.max_level",
                    f"max_level {cert['max_level']} is above the framework's cap for "
                    f"external certificates ({cap})",
                )
            )
        errors += _evidence_errors(content, here, cert, known)
    if errors:
        raise ContentInvalid(errors)
    return certificates_from_data(data)


def _evidence_errors(
    content: ContentFile, here: str, cert: dict, known: set[str] | None
) -> list[ContentError]:
    errors = []
    for code, level in cert["evidences"].items():
        where = f"{here}.evidences.{code}"
        if known is not None and code not in known:
            errors.append(content.error(where, f"unknown competency code {code!r}"))
        if level > cert["max_level"]:
            errors.append(
                content.error(
                    where, f"level {level} is above the certificate's max_level {cert['max_level']}"
                )
            )
    return errors
