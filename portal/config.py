"""Configuration classes. Values come from the environment; see README for the variables."""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import re
import secrets
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context, has_request_context, request
from werkzeug.security import DEFAULT_PBKDF2_ITERATIONS

ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("PORTAL_INSTANCE", ROOT / "instance"))
DEFAULT_PASSWORD_HASH = "scrypt"  # noqa: S105 - a method name: werkzeug's scrypt:32768:8:1, memory-hard


def _dev_secret_key() -> str:
    """Generate once and keep in instance/ so sessions survive restarts in development."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


class Config:
    TESTING = False
    DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'portal.db'}"
    REDIS_URL = os.environ.get("REDIS_URL", "")
    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")  # per account (e-mail)
    # Per client address, failed attempts only: an office behind one NAT address still signs in.
    LOGIN_CLIENT_RATE_LIMIT = os.environ.get("LOGIN_CLIENT_RATE_LIMIT", "30 per minute")
    # Reverse proxies in front of the portal that set X-Forwarded-For/-Proto (Werkzeug ProxyFix); 0 = none.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    PRODUCTION = False  # production start-up checks, HSTS
    HSTS_SECONDS = 0  # Strict-Transport-Security max-age; 0 sends no header
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Each remember-me cookie names one device session (ended on logout); a month, not Flask-Login's year.
    REMEMBER_COOKIE_DURATION = dt.timedelta(days=30)
    WTF_CSRF_TIME_LIMIT = None  # tied to the session; a long questionnaire must not expire mid-way
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_UPLOAD_MB", "10")) * 1024 * 1024
    UPLOAD_DIR = Path(os.environ.get("UPLOAD_DIR", INSTANCE_DIR / "uploads"))
    PDF_CACHE_DIR = Path(os.environ.get("PDF_CACHE_DIR", INSTANCE_DIR / "pdf"))
    # The task queue (portal/tasks.py): Redis when REDIS_URL is set, else this SQLite file (one host only).
    TASKS_DB = Path(os.environ.get("TASKS_DB", INSTANCE_DIR / "tasks.db"))
    TASKS_IMMEDIATE = os.environ.get("TASKS_IMMEDIATE", "") == "1"  # run tasks inline: no worker needed
    # PDFs one enterprise may have queued or rendering at once; more get a 429 with a clear message.
    PDF_JOBS_PER_ENTERPRISE = int(os.environ.get("PDF_JOBS_PER_ENTERPRISE", "5"))
    MAX_ATTACHMENTS = int(os.environ.get("MAX_ATTACHMENTS", "10"))
    COMPRESS_ALGORITHM = ["gzip", "br"]
    COMPRESS_MIMETYPES = ["text/html", "text/css", "application/javascript", "text/javascript", "application/json",
                          "text/csv", "image/svg+xml"]
    COMPRESS_MIN_SIZE = 500
    BABEL_DEFAULT_LOCALE = "zh"
    LANGUAGES = ("zh", "ko", "en")
    SMTP_HOST = os.environ.get("SMTP_HOST", "")
    SMTP_PORT = int(os.environ.get("SMTP_PORT", "25"))
    MAIL_FROM = os.environ.get("MAIL_FROM", "portal@localhost")
    # Base of links printed on PDFs, QR codes and e-mails; required in production. Empty in development:
    # the address of the current request is used (see public_base_url()).
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "")
    # Fixed "today" for demos and tests (YYYY-MM-DD); empty means the real date.
    PORTAL_TODAY = os.environ.get("PORTAL_TODAY", "")
    # `portal pdf-cache clean` caps the re-renderable PDF cache (never the PDFs frozen by submissions).
    PDF_CACHE_MAX_MB = int(os.environ.get("PDF_CACHE_MAX_MB", "1024"))
    PDF_CACHE_MAX_DAYS = int(os.environ.get("PDF_CACHE_MAX_DAYS", "90"))
    # Supporting documents one enterprise may store in total, over all its applications; 0 = no limit.
    UPLOAD_QUOTA_MB = int(os.environ.get("UPLOAD_QUOTA_MB", "200"))
    # werkzeug's method string for new password hashes; production refuses one weaker than werkzeug's defaults.
    PASSWORD_HASH_METHOD = os.environ.get("PASSWORD_HASH_METHOD") or DEFAULT_PASSWORD_HASH

    @property
    def SECRET_KEY(self) -> str:  # noqa: N802 - Flask config name
        return os.environ.get("SECRET_KEY") or _dev_secret_key()


class DevelopmentConfig(Config):
    DEBUG = False


class ProductionConfig(Config):
    PRODUCTION = True
    HSTS_SECONDS = 31536000  # one year, with includeSubDomains
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True

    @property
    def SECRET_KEY(self) -> str:  # noqa: N802
        key = os.environ.get("SECRET_KEY")
        if not key:
            raise RuntimeError("SECRET_KEY must be set in production (PORTAL_ENV=production)")
        return key


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
    WTF_CSRF_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    TASKS_IMMEDIATE = True  # PDFs and e-mail inline; tests/test_task_queue.py runs a real worker
    LOGIN_RATE_LIMIT = "1000 per minute"  # the throttle itself is tested with its own limit
    LOGIN_CLIENT_RATE_LIMIT = "1000 per minute"
    # scrypt was a third of the fixtures' time; tests check behaviour, not the hash's strength.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # noqa: S105 - a method name


CONFIGS = {"development": DevelopmentConfig, "production": ProductionConfig, "testing": TestingConfig}


def config_from_env() -> Config:
    return CONFIGS[os.environ.get("PORTAL_ENV", "development")]()


_PLACEHOLDER_KEYS = ("changeme", "change-me", "change_me", "not-for-production", "secret-key", "secret_key",
                     "your-secret", "example", "password")


def weak_secret_key(key: str) -> str | None:
    """Why `key` is too weak to sign production sessions, or None when it will do.

    `secrets.token_hex(32)` (64 characters) or `token_urlsafe(32)` (43) pass; short keys, keys of a few
    repeated characters or a repeated pattern and the usual placeholders do not.
    """
    if len(key) < 32:
        return f"SECRET_KEY has {len(key)} characters; at least 32 are required"
    if len(set(key)) < 10:
        return "SECRET_KEY uses fewer than 10 distinct characters"
    bits = -sum(c * math.log2(c / len(key)) for c in Counter(key).values())
    if bits < 80:  # a random 32-character hex key estimates at about 110 (rarely under 95)
        return f"SECRET_KEY carries about {bits:.0f} bits of entropy by character frequency; at least 80 are required"
    if any(key == (key[:period] * len(key))[:len(key)] for period in range(1, len(key) // 2 + 1)):
        return "SECRET_KEY is a short pattern repeated"
    lowered = key.lower()
    if any(word in lowered for word in _PLACEHOLDER_KEYS):
        return "SECRET_KEY looks like a placeholder"
    return None


def weak_password_hash(method: str) -> str | None:
    """Why `method` (werkzeug's "scrypt:N:r:p" or "pbkdf2:hash:iterations") is too cheap, or None when it will do.

    Weak means cheaper than werkzeug's own default for that method: scrypt:32768:8:1, pbkdf2:sha256 at
    DEFAULT_PBKDF2_ITERATIONS.
    """
    name, *args = method.split(":")
    try:
        if name == "scrypt":
            n, r, p = map(int, args) if args else (2**15, 8, 1)
            if n < 2**15 or r < 8 or p < 1:
                return f"PASSWORD_HASH_METHOD {method!r} is cheaper than scrypt:32768:8:1"
            return None
        if name == "pbkdf2" and len(args) <= 2:
            digest = args[0] if args else "sha256"
            iterations = int(args[1]) if len(args) == 2 else DEFAULT_PBKDF2_ITERATIONS
            if digest not in ("sha256", "sha384", "sha512") or iterations < DEFAULT_PBKDF2_ITERATIONS:
                return (f"PASSWORD_HASH_METHOD {method!r} is cheaper than "
                        f"pbkdf2:sha256:{DEFAULT_PBKDF2_ITERATIONS}")
            return None
    except ValueError:
        pass
    return f"PASSWORD_HASH_METHOD {method!r} is not a werkzeug method (use scrypt, the default)"


def production_problems(config: Mapping[str, Any]) -> list[str]:
    """Settings a production start refuses (create_app raises RuntimeError listing them)."""
    problems = []
    reason = weak_secret_key(str(config.get("SECRET_KEY") or ""))
    if reason:
        problems.append(f"{reason} (generate one: python3 -c 'import secrets; print(secrets.token_hex(32))')")
    base = str(config.get("PUBLIC_BASE_URL") or "")
    if not base:
        problems.append("PUBLIC_BASE_URL must be set (e.g. https://portal.example.cn): it is printed and "
                        "QR-encoded on every PDF")
    elif not re.match(r"^https://[^\s/\"'<>\\]+(/[^\s\"'<>\\]*)?$", base):
        problems.append(f"PUBLIC_BASE_URL must be an https:// address, not {base!r}")
    reason = weak_password_hash(str(config.get("PASSWORD_HASH_METHOD", DEFAULT_PASSWORD_HASH)))
    if reason:
        problems.append(reason)
    return problems


LOCAL_BASE_URL = "http://127.0.0.1:5000"  # development, outside any request (e.g. a command)


def setting(name: str, default: Any = None) -> Any:
    """A configured value, for code that runs inside the app or without one (services, CLI tools, workers).

    The one way outside views to read configuration: the app's value when there is an app, else `default`.
    """
    return current_app.config.get(name, default) if has_app_context() else default


def public_base_url(fallback: str = "") -> str:
    """PUBLIC_BASE_URL without its trailing slash; when unset (development), the current request's address.

    Call it inside the request and pass the result on: PDF rendering and e-mail may run outside it.
    """
    configured = setting("PUBLIC_BASE_URL", "")
    if configured:
        return str(configured).rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    return fallback.rstrip("/")


#: Libraries that log a line per render step at INFO ("Step 1 - Fetching and parsing HTML", …). The portal
#: reports what matters itself (e.g. refused fetches, portal.pdf.render).
QUIET_LOGGERS = ("weasyprint", "fontTools")


def quiet_library_loggers() -> None:
    """Set chatty libraries' loggers to WARNING, unless a level was chosen for them explicitly."""
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)
