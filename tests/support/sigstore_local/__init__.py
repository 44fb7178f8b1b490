"""A private Sigstore-like instance for offline tests (pure Python on `cryptography`).

Example::

    from sigstore.models import Bundle, TrustedRoot
    from sigstore.verify import Verifier, policy
    from tests.support.sigstore_local import Fault, GitHubIdentity, SigstoreInstance

    inst = SigstoreInstance.create()
    server = inst.serve()                               # Rekor v1 API on 127.0.0.1
    ident = GitHubIdentity(repository="acme/widget", workflow="release.yml",
                           ref="refs/tags/v1.0.0")
    bundle = inst.sign_artifact(b"payload", ident)      # bundle JSON bytes (v0.3)
    root = inst.write_trusted_root(tmp_path / "trusted_root.json")
    Verifier(trusted_root=TrustedRoot.from_file(str(root))).verify_artifact(
        b"payload", Bundle.from_json(bundle),
        policy.Identity(identity=ident.san, issuer=ident.issuer))
    server.stop()

What it is:

* `ca.FulcioCA`: root + intermediate (ECDSA P-256) issuing 10-minute leaves with the GitHub
  Actions Fulcio extensions (`identity`) and one embedded precertificate SCT (`ctlog.CTLog`).
* `tlog.TransparencyLog`: a real RFC 6962 tree (`merkle`), signed checkpoints, SETs; entries
  are hashedrekord/dsse 0.0.1 (`entries`). `server.RekorServer` serves the Rekor v1 API.
* `trust_root`: the ``trusted_root.json`` that makes sigstore-python 4.5.1 trust all of it.
* `instance.SigstoreInstance`: ties them together and signs; `Fault` makes the bad cases.
* `oidc`: an RS256 JWKS and GitHub Actions OIDC token minter (pyjwt).
* `fixtures`: session-scoped pytest fixtures (import them into a conftest).

Not covered: RFC 3161 timestamps and Rekor v2 entries (use the real staging fixtures), and
the deployment `environment`, which Fulcio never writes into certificates (token only).
"""

from .ca import FulcioCA
from .ctlog import CTLog
from .entries import EntryRejected, prepare_entry
from .identity import GITHUB_ACTIONS_ISSUER, GitHubIdentity, fulcio_extensions
from .instance import Fault, SigningResult, SigstoreInstance
from .merkle import MerkleTree, verify_inclusion
from .oidc import OidcSigningKey, jwks, make_github_oidc_token
from .server import RekorServer
from .tlog import DuplicateEntry, InclusionProof, LogEntry, TransparencyLog

__all__ = [
    "GITHUB_ACTIONS_ISSUER",
    "CTLog",
    "DuplicateEntry",
    "EntryRejected",
    "Fault",
    "FulcioCA",
    "GitHubIdentity",
    "InclusionProof",
    "LogEntry",
    "MerkleTree",
    "OidcSigningKey",
    "RekorServer",
    "SigningResult",
    "SigstoreInstance",
    "TransparencyLog",
    "fulcio_extensions",
    "jwks",
    "make_github_oidc_token",
    "prepare_entry",
    "verify_inclusion",
]
