"""Configuration from the environment.

DATABASE_URL picks the database (a SQLite file under instance/ by default);
SECRET_KEY signs sessions and must be set in production (several nodes must share it).
"""

import os
import secrets
import tempfile
from datetime import timedelta
from functools import cache
from pathlib import Path

INSTANCE_DIR = Path(
    os.environ.get("PMO_INSTANCE_DIR", Path(__file__).resolve().parent.parent / "instance")
)


def normalise_database_url(url: str) -> str:
    """Accept the URL forms hosting platforms hand out and pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _default_database_url() -> str:
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{INSTANCE_DIR / 'pmo_pathways.sqlite3'}"


def _secret_key() -> str:
    """SECRET_KEY from the environment, else a random key kept in instance/ for local runs."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


class Config:
    SECRET_KEY: str | None = None  # filled in by load()
    SQLALCHEMY_DATABASE_URI = None
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    #: Absolute session lifetime (ASVS V3.3.2, level 2: 12 hours).
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    #: A login session unused for this long is ended.
    SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
    #: Failed log-ins allowed on one account before it is locked for LOGIN_LOCKOUT.
    LOGIN_MAX_FAILURES = 10
    LOGIN_LOCKOUT = timedelta(minutes=15)
    #: One-time set-password links expire after this long.
    SET_PASSWORD_TOKEN_TTL = timedelta(hours=72)

    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    WTF_CSRF_TIME_LIMIT = 3600
    BOOTSTRAP_SERVE_LOCAL = True
    PEOPLE_PER_PAGE = 25
    #: Item statistics flag an item only once it has this many responses.
    ITEM_STATS_MIN_ATTEMPTS = int(os.environ.get("ITEM_STATS_MIN_ATTEMPTS", "50"))

    #: Uploaded copies of external certificates: a folder outside the web root, read only
    #: through the guarded download view.
    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER", str(INSTANCE_DIR / "uploads"))

    #: Outgoing mail (the reminders command). No MAIL_SERVER, no mail: the command says so.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    #: STARTTLS after connecting (port 587); the password is never sent without it.
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "0") == "1"
    MAIL_FROM = os.environ.get("MAIL_FROM", "PMO Pathways <no-reply@localhost>")
    #: Where the site is served, for the links in mails and on certificates' QR codes.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")

    @classmethod
    def load(cls) -> dict:
        values = {k: getattr(cls, k) for k in dir(cls) if k.isupper()}
        values["SECRET_KEY"] = values["SECRET_KEY"] or _secret_key()
        url = values["SQLALCHEMY_DATABASE_URI"] or os.environ.get("DATABASE_URL")
        values["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(url or _default_database_url())
        return values


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production-0123456789"
    SERVER_NAME: str | None = None
    PUBLIC_BASE_URL = "https://pathways.example.test"
    MAIL_SERVER = ""

    @classmethod
    def load(cls) -> dict:
        values = super().load()
        values["UPLOAD_FOLDER"] = _test_upload_folder()
        return values


@cache
def _test_upload_folder() -> str:
    """One throwaway upload folder per test run, made when the first test app is built."""
    return tempfile.mkdtemp(prefix="pmo-test-uploads-")
