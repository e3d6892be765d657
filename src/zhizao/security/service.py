"""Password hashing (argon2), tokens, sessions and audit entries."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from zhizao.security.model import ROLES, ApiToken, AuditEntry, User
from zhizao.store.db import Database

SESSION_HOURS = 12
_hasher = PasswordHasher()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class UserError(ValueError):
    pass


class Security:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- users ---------------------------------------------------------------
    def add_user(self, username: str, password: str, role: str, display_name: str = "") -> User:
        if role not in ROLES:
            raise UserError(f"role: must be one of {', '.join(ROLES)}, not {role!r}")
        if not username or len(username) > 64:
            raise UserError("username: 1 to 64 characters")
        if len(password) < 8:
            raise UserError("password: at least 8 characters")
        with self.db.session() as s:
            if s.scalar(select(User).where(User.username == username)):
                raise UserError(f"username: '{username}' already exists")
            user = User(
                username=username, display_name=display_name or username, role=role,
                password_hash=_hasher.hash(password), created_at=_now(),
            )
            s.add(user)
            s.flush()
            return user

    def set_password(self, username: str, password: str) -> None:
        if len(password) < 8:
            raise UserError("password: at least 8 characters")
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.username == username))
            if user is None:
                raise UserError(f"username: no user '{username}'")
            user.password_hash = _hasher.hash(password)

    def list_users(self) -> list[User]:
        with self.db.session() as s:
            return list(s.scalars(select(User).order_by(User.username)))

    def authenticate(self, username: str, password: str) -> User | None:
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.username == username, User.active.is_(True)))
            if user is None:
                _hasher.hash(password)  # same cost whether or not the user exists
                return None
            try:
                _hasher.verify(user.password_hash, password)
            except (VerificationError, InvalidHashError):
                return None
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = _hasher.hash(password)
            return user

    # ---- tokens and sessions --------------------------------------------------
    def issue_token(self, user: User, kind: str = "api", name: str = "") -> str:
        """Create a token; the secret is returned once and never stored."""
        secret = ("zs_" if kind == "session" else "zt_") + secrets.token_urlsafe(32)
        expires = _now() + timedelta(hours=SESSION_HOURS) if kind == "session" else None
        with self.db.session() as s:
            s.add(ApiToken(user_id=user.id, kind=kind, name=name, token_hash=_digest(secret),
                           created_at=_now(), expires_at=expires))
        return secret

    def user_for_token(self, secret: str) -> User | None:
        with self.db.session() as s:
            token = s.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(secret)))
            if token is None or (token.expires_at is not None and token.expires_at < _now()):
                return None
            user = s.get(User, token.user_id)
            return user if user is not None and user.active else None

    def revoke_token(self, secret: str) -> None:
        with self.db.session() as s:
            token = s.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(secret)))
            if token is not None:
                s.delete(token)

    # ---- audit -----------------------------------------------------------------
    def audit(self, username: str | None, action: str, target: str, status: int,
              client: str | None = None, detail: dict | None = None) -> None:
        with self.db.session() as s:
            s.add(AuditEntry(ts_ms=time.time_ns() // 1_000_000, username=username, action=action,
                             target=target, status=status, client=client, detail=detail))

    def audit_log(self, limit: int = 200) -> list[AuditEntry]:
        with self.db.session() as s:
            return list(s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)))
