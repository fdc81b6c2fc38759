"""The version of the terms of service and privacy policy an investor accepts.

``docs/users/terms.md`` and ``docs/users/privacy.md`` state this version on their first lines
(a test holds them to it). The bot asks an investor to accept the current version before they
invest or connect a key, records who accepted which version when, and asks again when this
changes: raise it whenever either page changes what it promises or what data it keeps.
"""

from __future__ import annotations

TERMS_VERSION = "1.0"
TERMS_DATE = "2027-02-01"
"""When this version took effect."""
TERMS_PAGES = ("docs/users/terms.md", "docs/users/privacy.md")


def version_line() -> str:
    """The line both pages carry, word for word."""
    return f"Version {TERMS_VERSION}, in effect from {TERMS_DATE}."
