"""Fixtures shared by the functional test modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.signing.gpg_keys import Keyring


@pytest.fixture(scope="module")
def keyring() -> Iterator[Keyring]:
    """A real gpg keyring for the module's own keys (its agent stops when the module ends)."""
    ring = Keyring()
    yield ring
    ring.close()
