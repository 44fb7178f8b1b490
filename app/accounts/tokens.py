"""API token secrets: generation, hashing at rest, and scope checks.

    secret = new_secret()                 # "vouch_..." shown once to the user
    digest = hash_secret(secret)          # what the database stores

Tokens carry 256 bits of randomness, so a single SHA-256 is a sufficient at-rest hash (no
slow KDF needed, unlike passwords); lookups are by that digest. Scope patterns are fnmatch-style
(``@acme/*``, ``left-pad``); an empty list means "any package".
"""

from __future__ import annotations

import fnmatch
import hashlib
import secrets

PREFIX = "vouch_"
ACTIONS = ("publish", "unpublish", "deprecate", "read", "admin", "advisory")


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def display_prefix(secret: str) -> str:
    """The non-secret head of a token, to tell tokens apart in listings."""
    return secret[: len(PREFIX) + 6]


def allows_action(actions: list[str], action: str) -> bool:
    return not actions or action in actions


def allows_package(patterns: list[str], package: str) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(package, p) for p in patterns)


def is_unrestricted(actions: list[str], patterns: list[str]) -> bool:
    """No action limits and no package patterns: the token may do whatever its user may."""
    return not actions and not patterns
