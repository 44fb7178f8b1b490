"""A deferred trust root (the registry's, issue 13: idle memory): the file and its schema are
checked at once, sigstore-python is imported and the verifier built only on first use, and a
root sigstore-python refuses is still refused, then."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from signing.errors import TrustRootInvalid
from signing.trust import TrustRoot

ROOT = Path(__file__).resolve().parents[3]


def _unusable_root() -> str:
    """A root whose schema is valid but whose CA certificates are not certificates."""
    doc = json.loads(TrustRoot.public_good().raw_json)
    for authority in doc["certificateAuthorities"]:
        for cert in authority["certChain"]["certificates"]:
            cert["rawBytes"] = base64.b64encode(b"not a certificate").decode()
    return json.dumps(doc)


def test_a_deferred_root_imports_sigstore_only_when_loaded() -> None:
    code = ("import sys\n"
            "from signing.trust import TrustRoot\n"
            "root = TrustRoot.public_good(deferred=True)\n"
            "print('sigstore' in sys.modules, root.tlog_keys()[0].base_url)\n"
            "root.load()\n"
            "print('sigstore' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "https://rekor.sigstore.dev", "True"]


def test_a_deferred_root_verifies_like_an_eager_one() -> None:
    deferred = TrustRoot.public_good(deferred=True)
    assert deferred.sha256 == TrustRoot.public_good().sha256
    assert deferred.verifier is deferred.load()  # built once


@pytest.mark.parametrize("content", [b"", b"{}", b"not json", b'{"mediaType": "x"}'])
def test_a_deferred_root_still_refuses_a_bad_file_at_once(tmp_path: Path,
                                                          content: bytes) -> None:
    path = tmp_path / "trusted_root.json"
    path.write_bytes(content)
    with pytest.raises(TrustRootInvalid):
        TrustRoot.named(str(path), deferred=True)
    with pytest.raises(TrustRootInvalid, match="cannot read"):
        TrustRoot.named(str(tmp_path / "absent.json"), deferred=True)


def test_keys_sigstore_refuses_are_refused_at_load_when_deferred() -> None:
    raw = _unusable_root()
    with pytest.raises(TrustRootInvalid):
        TrustRoot.from_json(raw)  # eager: at construction, as before
    root = TrustRoot.from_json(raw, deferred=True)
    with pytest.raises(TrustRootInvalid, match="not a usable Sigstore trusted root"):
        root.load()
    with pytest.raises(TrustRootInvalid):
        _ = root.verifier  # and again: nothing half-built is kept
