"""Console accounts: create users, check passwords (argon2id), and the first admin on a fresh install."""

from __future__ import annotations

import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.workflow.columns import utcnow
from storage.workflow.database import WRITE_LOCK, WorkflowDatabase
from storage.workflow.models import USERNAME_LENGTH, AuditLog, Role, User

FIRST_ADMIN_USERNAME = "admin"
MIN_PASSWORD_LENGTH = 12
_USERNAME = re.compile(rf"^[a-z0-9][a-z0-9._@-]{{0,{USERNAME_LENGTH - 1}}}$")
# argon2-cffi's defaults are argon2id with RFC 9106's low-memory parameters (64 MiB, t=3, p=4).
_HASHER = PasswordHasher()
# Checked against when the username is unknown, so a login takes as long whether or not the user exists.
_DECOY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class UserError(ValueError):
    """A user could not be created or changed; the message names the field and the rule."""


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (also used for agents' keys)."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash``; a malformed hash is a mismatch, never an error."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def normalize_username(username: str) -> str:
    """The stored form of a username (lower case), or UserError saying what is wrong with it."""
    name = (username or "").strip().lower()
    if not _USERNAME.match(name):
        raise UserError(
            f"invalid username {username!r}: 1-{USERNAME_LENGTH} characters of a-z, 0-9, '.', '_', '@', '-', "
            "starting with a letter or digit"
        )
    return name


def check_password_strength(password: str) -> None:
    """Raise UserError when ``password`` is too weak to protect a SOC console."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters are required")
    if password.strip() != password:
        raise UserError("password must not start or end with whitespace")


def create_user(
    session: Session, username: str, password: str, role: Role | str = Role.VIEWER, display_name: str | None = None
) -> User:
    """Add a user (flushed, not committed); UserError for a bad name, weak password, unknown role or taken name."""
    name = normalize_username(username)
    check_password_strength(password)
    try:
        role = Role(role)
    except ValueError:
        raise UserError(f"unknown role {role!r}: expected one of {', '.join(r.value for r in Role)}") from None
    if session.scalar(select(User.id).where(User.username == name)) is not None:
        raise UserError(f"username {name!r} is already taken")
    user = User(username=name, password_hash=hash_password(password), role=role, display_name=display_name)
    session.add(user)
    session.flush()
    return user


def set_password(user: User, password: str) -> None:
    """Replace the user's password after checking its strength."""
    check_password_strength(password)
    user.password_hash = hash_password(password)


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password (last_login_at updated), else None; same cost either way."""
    try:
        name = normalize_username(username)
    except UserError:
        name = None
    user = session.scalar(select(User).where(User.username == name)) if name else None
    if user is None:
        verify_password(_DECOY_HASH, password)
        return None
    if not verify_password(user.password_hash, password) or not user.is_active:
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        # Hashes made with older, weaker parameters are upgraded at the next successful login.
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def ensure_first_admin(db: WorkflowDatabase) -> str | None:
    """On a database without users, create ``admin`` with a random password and return it (once); else None.

    The caller shows the password to the operator exactly once; it is never logged or stored in clear.
    """
    with db.session() as session:
        # Write lock first: two services starting together must not both see "no users".
        session.connection(execution_options=WRITE_LOCK)
        if session.scalar(select(func.count()).select_from(User)):
            return None
        password = secrets.token_urlsafe(18)  # 24 characters, 144 bits
        session.add(
            User(
                username=FIRST_ADMIN_USERNAME,
                password_hash=hash_password(password),
                role=Role.ADMIN,
                display_name="Administrator",
            )
        )
        session.add(
            AuditLog(
                actor="system",
                action="user.create",
                target=FIRST_ADMIN_USERNAME,
                detail={"role": Role.ADMIN.value, "reason": "first start: no user existed"},
            )
        )
        try:
            session.commit()
        except IntegrityError:
            # Another process created the first admin at the same moment; its password is the one shown.
            session.rollback()
            return None
    return password
