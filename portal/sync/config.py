"""Where `portal sync` keeps its settings, its token and its mirror."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import keyring
from keyring.errors import KeyringError

KEYRING_SERVICE = "jilin-portal"
APP_DIR = "jilin-portal"
HOME_ENV = "PORTAL_SYNC_HOME"  # one directory for everything: tests, portable installs, several accounts
# Scripts and the benchmark: no keyring or file needed. (The name of a variable, not a secret.)
TOKEN_ENV = "PORTAL_SYNC_TOKEN"  # noqa: S105


def config_dir() -> Path:
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / APP_DIR


def data_dir() -> Path:
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / APP_DIR


def default_mirror() -> Path:
    return data_dir() / "mirror.db"


def token_file() -> Path:
    return config_dir() / "token"


def _config_file() -> Path:
    return config_dir() / "config.json"


def load_config() -> dict[str, Any]:
    try:
        data = json.loads(_config_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_config(values: dict[str, Any]) -> None:
    path = _config_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(json.dumps(values, ensure_ascii=False, indent=2), encoding="utf-8")


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, even if it existed with looser permissions."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)  # O_CREAT's mode does not apply to an existing file
        out.write(text)


def store_token(server: str, token: str) -> str:
    """Keep the token in the system keyring, else in a 0600 file; returns where it went (for the user)."""
    try:
        keyring.set_password(KEYRING_SERVICE, server, token)
    except KeyringError as exc:
        _write_private(token_file(), token + "\n")
        return f"系统密钥环不可用（{type(exc).__name__}），令牌已保存到 {token_file()}（权限 0600）"
    token_file().unlink(missing_ok=True)  # an older fallback copy must not outlive the keyring entry
    return f"令牌已保存到系统密钥环（{KEYRING_SERVICE} / {server}）"


def load_token(server: str) -> str | None:
    """The token for `server`: environment, keyring, then the fallback file (written for the configured server)."""
    if os.environ.get(TOKEN_ENV):
        return os.environ[TOKEN_ENV].strip()
    try:
        token = keyring.get_password(KEYRING_SERVICE, server)
    except KeyringError:
        token = None
    if token:
        return token
    if load_config().get("server") != server:
        return None
    try:
        return token_file().read_text(encoding="utf-8").strip() or None
    except OSError:
        return None
