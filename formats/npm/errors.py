"""Errors of the npm format, beside ``formats.errors``' shared ones.

    >>> from formats.npm.errors import IntegrityMismatch
    >>> IntegrityMismatch("dist.integrity does not match the tarball").code
    'digest_mismatch'

``InvalidPublish`` (``invalid_metadata``) is a publish body npm would never send or that breaks
the registry's rules (no attachment, two versions, a field of the wrong type);
``IntegrityMismatch`` (``digest_mismatch``) is a ``dist`` digest or ``length`` that disagrees
with the attached bytes; ``formats.errors.MetadataMismatch`` is a ``package.json`` inside the
tarball that disagrees with the body.
"""

from __future__ import annotations

from formats.errors import FormatError


class InvalidPublish(FormatError):
    """An ``npm publish`` body the registry cannot accept."""

    code = "invalid_metadata"


class IntegrityMismatch(FormatError):
    """A declared digest or length that the attached tarball does not have."""

    code = "digest_mismatch"


class InvalidSigningKey(FormatError):
    """A registry signing key file that is not an unencrypted ECDSA P-256 private key."""

    code = "invalid_signing_key"
