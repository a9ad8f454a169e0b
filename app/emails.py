"""What counts as a work email address, in forms and imports alike.

Pure: no Flask, no ORM. Addresses are checked for shape only (no DNS: the product runs
without an outside network). Organisations' own directories use names the public mail
system reserves: ``jo.bloggs@corp.local`` from an Active Directory export, a single-label
``jo@intranet``, or ``.test`` in a staging HR system. Those are real addresses inside the
organisation, so they are accepted; only the names that can never reach a mailbox
(``.invalid``, ``.localhost``, ``.onion``, ``.arpa``) are refused.
"""

from __future__ import annotations

import email_validator
from email_validator import EmailNotValidError, validate_email

#: Reserved names an organisation's own directory may use for its addresses.
_INTERNAL_NAMES = {"local", "test"}

# email_validator documents this list as the place to allow reserved names.
email_validator.SPECIAL_USE_DOMAIN_NAMES[:] = [
    name for name in email_validator.SPECIAL_USE_DOMAIN_NAMES if name not in _INTERNAL_NAMES
]


def normalise_email(value: str) -> str:
    """The address in the form the product stores (lower case), or ``ValueError`` with a
    message a person can act on."""
    try:
        checked = validate_email(
            value.strip(), check_deliverability=False, globally_deliverable=False
        )
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return checked.normalized.lower()
