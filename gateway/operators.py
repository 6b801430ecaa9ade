"""Operator authentication: bearer tokens stored only as SHA-256 digests (config.md).

Roles are ordered: an ``admin`` may do what an ``operator`` may, who may do what an
``auditor`` may. Tokens are compared by digest in constant time and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from gateway.errors import Forbidden, Unauthorized


class Role(IntEnum):
    AUDITOR = 1
    OPERATOR = 2
    ADMIN = 3

    @classmethod
    def parse(cls, name: str) -> Role:
        try:
            return cls[name.upper()]
        except KeyError:
            raise ValueError(
                f"unknown role {name!r}; expected auditor, operator or admin"
            ) from None


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    role: Role
    token_sha256: str  # hex


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh bearer token: 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def authenticate(authorization: str | None, operators: Iterable[Operator]) -> Operator:
    """The operator a ``Authorization: Bearer …`` header names; 401 otherwise."""
    if not authorization:
        raise Unauthorized(
            "operator-token-missing",
            "this endpoint needs an operator token: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": 'Bearer realm="gateway"'},
        )
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "operator-token-malformed",
            "the Authorization header must be 'Bearer <token>'",
            headers={"WWW-Authenticate": 'Bearer realm="gateway"'},
        )
    digest = token_digest(token.strip())
    found: Operator | None = None
    for op in operators:
        if hmac.compare_digest(op.token_sha256, digest):
            found = op
    if found is None:
        raise Unauthorized(
            "operator-token-unknown",
            "the operator token is not known to this gateway",
            headers={"WWW-Authenticate": 'Bearer realm="gateway", error="invalid_token"'},
        )
    return found


def require_role(operator: Operator, role: Role) -> None:
    if operator.role < role:
        raise Forbidden(
            "operator-role-insufficient",
            f"operator {operator.name!r} has role {operator.role.name.lower()}; "
            f"this needs {role.name.lower()} or higher",
        )
