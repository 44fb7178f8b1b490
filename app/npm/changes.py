"""``npm deprecate`` and ``npm unpublish``: the whole-packument PUT and the ``-rev`` flows.

    changes.apply(body, name, principal, served)       # PUT /npm/{name}[/-rev/{rev}]
    changes.unpublish_all(name, principal)             # DELETE /npm/{name}/-rev/{rev}

npm changes metadata by sending back the full packument it read with ``?write=true``:
``npm deprecate`` sets (or, with ``""``, clears) ``versions[v].deprecated``; ``npm unpublish
NAME@VERSION`` sends it without that version, then deletes the tarball. So a PUT without
``_attachments`` is a change: each version it names must be served exactly as the registry
serves it apart from ``deprecated`` (anything else is refused, nothing applied: versions are
immutable), and each live version it leaves out is unpublished. Deprecation is allowed at any
time; unpublishing only within the grace period, checked for every version before any
changes, and refused after it with npm's 405 wording, which tells the user to deprecate
instead. Both go through ``LifecycleService`` (ownership, audit events, search updates).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from app.accounts.service import Principal
from app.core.clock import Clock, as_utc
from app.core.errors import DomainError, InvalidMetadata
from app.publishing.lifecycle import LifecycleService

ECOSYSTEM = "npm"


class UnpublishRefused(DomainError):
    """npmjs answers 405 when a version may no longer be unpublished; npm prints ``error``."""

    code = "unpublish_window_closed"
    status = 405
    title = "Unpublish window closed"

    def __init__(self, name: str, versions: list[str], grace: timedelta) -> None:
        hours = int(grace.total_seconds() // 3600)
        window = f"{hours} hours" if hours else f"{int(grace.total_seconds())} seconds"
        super().__init__(
            f"You can no longer unpublish this package. Failed criteria: it was published "
            f"more than {window} ago. Please deprecate it instead: npm deprecate -f "
            f"'{name}@{versions[0]}' \"<message>\"", package=name, versions=versions)


class NpmChanges:
    def __init__(self, lifecycle: LifecycleService, clock: Clock, grace: timedelta) -> None:
        self.lifecycle = lifecycle
        self.clock = clock
        self.grace = grace

    def apply(self, body: Mapping[str, Any], name: str, principal: Principal,
              served: Mapping[str, Any], published: Mapping[str, str]) -> None:
        """``served`` is the full packument as the registry serves it now; ``published``
        maps each live version to its publish time (ISO)."""
        if body.get("name") != name:
            raise InvalidMetadata(f"the body changes {str(body.get('name'))[:64]!r}, but the "
                                  f"URL names {name!r}")
        versions = body.get("versions")
        if not isinstance(versions, dict):
            raise InvalidMetadata("versions must be an object")
        current: Mapping[str, Any] = served.get("versions", {})
        unknown = sorted(set(versions) - set(current))
        if unknown:
            raise InvalidMetadata(f"versions are added only by npm publish: {unknown[:5]}")
        messages: dict[str, str | None] = {}
        for version, doc in versions.items():
            if not isinstance(doc, dict):
                raise InvalidMetadata(f"versions[{version!r}] must be an object")
            if _without_deprecation(doc) != _without_deprecation(current[version]):
                raise InvalidMetadata(
                    f"{name}@{version}: only 'deprecated' may change; published versions "
                    "are immutable")
            message = doc.get("deprecated")
            if message is not None and not isinstance(message, str):
                raise InvalidMetadata("deprecated must be a string")
            if (message or None) != current[version].get("deprecated"):
                messages[version] = message or None
        removed = sorted(set(current) - set(versions))
        self._check_window(name, removed, published)
        for version, message in messages.items():
            self.lifecycle.set_deprecation(principal, name, version, message,
                                           ecosystem=ECOSYSTEM)
        for version in removed:
            self.lifecycle.unpublish(principal, name, version, ecosystem=ECOSYSTEM)

    def unpublish_all(self, name: str, principal: Principal,
                      published: Mapping[str, str]) -> None:
        versions = sorted(published)
        self._check_window(name, versions, published)
        for version in versions:
            self.lifecycle.unpublish(principal, name, version, ecosystem=ECOSYSTEM)

    def _check_window(self, name: str, versions: list[str],
                      published: Mapping[str, str]) -> None:
        from datetime import datetime

        now = self.clock.now()
        late = [v for v in versions
                if now - as_utc(datetime.fromisoformat(published[v])) > self.grace]
        if late:
            raise UnpublishRefused(name, late, self.grace)


def _without_deprecation(doc: Mapping[str, Any]) -> str:
    return json.dumps({k: v for k, v in doc.items() if k != "deprecated"}, sort_keys=True)
