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
    #: hide_parameters: a logged or raised SQL error shows its statement, never the values
    #: bound to it (personal data, tokens).
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    #: Absolute session lifetime (ASVS V3.3.2, level 2: 12 hours).
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    #: A login session unused for this long is ended.
    SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
    #: The session cookie is sent again only when its contents change (log-in, a flashed
    #: message, a new CSRF token), not re-signed on every answer: both limits above are
    #: enforced server-side on the login session (``load_login_session``: created_at and
    #: last_seen_at), so a sliding cookie expiry adds nothing but CPU and bytes per request
    #: (issue 9, point 10). The server ends the session at those limits whatever the cookie says.
    SESSION_REFRESH_EACH_REQUEST = False
    #: Log-in throttling (app/accounts/throttle.py): per email address (and per known
    #: device), LOGIN_FREE_FAILURES failures cost nothing, then each further attempt waits
    #: 1 s, 2 s, 4 s … up to LOGIN_DELAY_CAP after the last failure; failures are forgotten
    #: LOGIN_FAILURE_WINDOW after the first. The same per client address, more loosely
    #: (many people may share one office address). No lock: the owner gets in from a known
    #: device or through a set-password link.
    LOGIN_FREE_FAILURES = int(os.environ.get("LOGIN_FREE_FAILURES", "5"))
    LOGIN_DELAY_CAP = timedelta(minutes=15)
    LOGIN_ADDRESS_FREE_FAILURES = int(os.environ.get("LOGIN_ADDRESS_FREE_FAILURES", "50"))
    LOGIN_ADDRESS_DELAY_CAP = timedelta(minutes=5)
    LOGIN_FAILURE_WINDOW = timedelta(hours=1)
    #: A browser an account logged in on is "known" for this long (its own throttle).
    KNOWN_DEVICE_LIFETIME = timedelta(days=180)
    #: Between the password and the second-factor code of a log-in, at most this long.
    TWO_FACTOR_STEP_TIMEOUT = timedelta(minutes=5)
    #: Changing permissions, two-step log-in or a password needs the password (and code)
    #: given this recently in the session: at log-in or on the "confirm it's you" page.
    REAUTH_WINDOW = timedelta(minutes=10)
    #: Two-step log-in is required of these permissions (comma-separated; empty: nobody):
    #: a holder who has not set it up reaches only the set-up. From the environment when
    #: the app is made (load); `make run` empties it so the demo logins need no phone.
    PMO_TWO_STEP_REQUIRED_FOR: str | None = None
    #: One-time set-password links expire after this long.
    SET_PASSWORD_TOKEN_TTL = timedelta(hours=72)

    #: The largest request body: the biggest upload (a 10 MB staff import) and its form.
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    #: The most text one form sends: a urlencoded body in all, or one text field of a
    #: multipart form (app/hardening.py). The longest real form (a 20,000-character lesson,
    #: a 256 kB GIFT file pasted as text) stays well under it.
    MAX_FORM_MEMORY_SIZE = 1024 * 1024

    #: "production" turns on the start-up self-check (app/hardening.py): the app refuses to
    #: start with a default secret key, debug on, no TRUSTED_HOSTS, or without HTTPS.
    PMO_ENV = os.environ.get("PMO_ENV", "development")
    #: Served over HTTPS (directly or behind a proxy that ends TLS): Secure cookies named
    #: with the __Host- prefix, and HSTS for a year, subdomains included.
    PMO_HTTPS = os.environ.get("PMO_HTTPS", "0") == "1"
    #: Reverse proxies in front of the app: ProxyFix trusts that many X-Forwarded-For/
    #: -Proto/-Host/-Port hops (0: none, the headers are ignored). Checked at start-up.
    PMO_PROXIES = os.environ.get("PMO_PROXIES", "0")
    #: Host names the site answers to, comma-separated (".example.org" takes subdomains);
    #: a request for any other Host gets 400. Required in production.
    TRUSTED_HOSTS = [h.strip() for h in os.environ.get("TRUSTED_HOSTS", "").split(",") if h.strip()]
    HSTS_MAX_AGE = 365 * 24 * 3600
    WTF_CSRF_TIME_LIMIT = 3600
    BOOTSTRAP_SERVE_LOCAL = True
    PEOPLE_PER_PAGE = 25
    #: Item statistics flag an item only once it has this many responses.
    ITEM_STATS_MIN_ATTEMPTS = int(os.environ.get("ITEM_STATS_MIN_ATTEMPTS", "50"))

    #: Uploaded copies of external certificates: a folder outside the web root, read only
    #: through the guarded download view.
    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER", str(INSTANCE_DIR / "uploads"))

    #: Personal data (app/privacy): leavers' records are anonymised this many days after
    #: they left, and staff import files deleted this many days after upload, by
    #: `flask privacy retention`. The salt of anonymised people's pseudonyms: empty means
    #: the SECRET_KEY (set PMO_PRIVACY_SALT to keep pseudonyms across a key rotation).
    RETAIN_LEAVERS_DAYS = int(os.environ.get("PMO_RETAIN_LEAVERS_DAYS", "2190"))
    RETAIN_HR_FILES_DAYS = int(os.environ.get("PMO_RETAIN_HR_FILES_DAYS", "30"))
    PRIVACY_SALT = os.environ.get("PMO_PRIVACY_SALT", "")

    #: The organisation's time zone (an IANA name, "Europe/London"): the calendar that
    #: due dates, overdue items and "today" follow (app/clock.py). Empty: the server's own.
    PMO_TIMEZONE = os.environ.get("PMO_TIMEZONE", "").strip()

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
        #: Where the key came from, for the production self-check.
        values["SECRET_KEY_SOURCE"] = (
            "config"
            if values["SECRET_KEY"]
            else "environment"
            if os.environ.get("SECRET_KEY")
            else "instance file"
        )
        values["SECRET_KEY"] = values["SECRET_KEY"] or _secret_key()
        values["TRUSTED_HOSTS"] = values["TRUSTED_HOSTS"] or None
        if values["PMO_TWO_STEP_REQUIRED_FOR"] is None:
            values["PMO_TWO_STEP_REQUIRED_FOR"] = os.environ.get(
                "PMO_TWO_STEP_REQUIRED_FOR", "admin"
            )
        url = values["SQLALCHEMY_DATABASE_URI"] or os.environ.get("DATABASE_URL")
        values["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(url or _default_database_url())
        return values


class TestConfig(Config):
    TESTING = True
    PMO_TWO_STEP_REQUIRED_FOR = ""  # tests and benches log in as administrators by password
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
