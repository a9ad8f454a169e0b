"""Every domain's personal-data provider, in the order their data is exported and erased.

The organisation comes before accounts: deactivating a leaver who is still marked active
closes their account through ``org`` (which refuses for the last active administrator)
before ``accounts`` pseudonymises it. The audit trail comes last: its redaction blanks the
erasure's own changes along with the rest.
"""

from app.privacy.providers import (
    accounts,
    assessment,
    audit,
    capability,
    framework,
    learning,
    org,
    reports,
    staff_import,
)
from app.privacy.registry import Provider

PROVIDERS: tuple[Provider, ...] = (
    org.PROVIDER,
    accounts.PROVIDER,
    framework.PROVIDER,
    capability.PROVIDER,
    learning.PROVIDER,
    assessment.PROVIDER,
    reports.PROVIDER,
    staff_import.PROVIDER,
    audit.PROVIDER,
)

__all__ = ["PROVIDERS"]
