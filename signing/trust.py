"""Sigstore trust roots, always loaded explicitly.

    >>> from signing.trust import TrustRoot
    >>> root = TrustRoot.public_good()          # the copy pinned inside this package
    >>> root.name
    'public-good'
    >>> [k.base_url for k in root.tlog_keys()][0]
    'https://rekor.sigstore.dev'

Security invariant: a trust root comes from a file we chose (the pinned copies in
`signing/data/`, or a path given by the operator). We never use `Verifier.production()` or its
`offline=True` mode: that reads an *unverified* copy from the user's cache directory (research,
sigstore-and-gpg.md 1b), which anyone with write access to $HOME could edit.

`refresh_via_tuf(dest)` replaces a pinned copy with the newest one published through TUF, and
raises `TrustRefreshFailed` when there is no network or TUF refuses the update.

To retire a compromised key, remove it from the file: sigstore-python 4.5.1 does not check the
`validFor.end` of tlog/ctlog/CA keys against the signing time (research pitfall 11).

A root loaded with ``deferred=True`` (the registry's, issue 13: idle memory) checks the
document's schema at once but imports sigstore-python (with requests, TUF and boto3, about
25 MiB) and builds the verifier only on first use (`load`, `verifier`).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import load_der_public_key
from sigstore_models.trustroot import v1 as _trustroot_v1

from signing.errors import TrustRefreshFailed, TrustRootInvalid

if TYPE_CHECKING:
    from sigstore.verify import Verifier

PUBLIC_GOOD_TUF_URL = "https://tuf-repo-cdn.sigstore.dev"
STAGING_TUF_URL = "https://tuf-repo-cdn.sigstage.dev"

_PINNED = {
    "public-good": ("trusted_root.public-good.json", "tuf-root.public-good.json"),
    "staging": ("trusted_root.staging.json", "tuf-root.staging.json"),
}


@dataclass(frozen=True)
class TlogKey:
    """One transparency log listed in a trust root. `key_id` is sha256(DER SPKI), which is
    the Rekor v1 log id; trust-root `logId` values are ignored, as sigstore-python does."""

    base_url: str
    key_id: bytes
    public_key: PublicKeyTypes
    valid_from: datetime
    valid_until: datetime | None


def _read_packaged(filename: str) -> bytes:
    return resources.files("signing").joinpath("data", filename).read_bytes()


class TrustRoot:
    """A parsed Sigstore `trusted_root.json` plus the verifier built from it.

    Construct with `public_good()`, `staging()`, `from_file(path)` or `from_json(raw)`; each
    raises `TrustRootInvalid` when the document is not a valid trusted root. With
    ``deferred=True`` only the schema is checked then; keys sigstore-python cannot use raise
    `TrustRootInvalid` from the first `load` (or `verifier`) instead.
    """

    def __init__(self, raw: bytes, *, name: str, deferred: bool = False) -> None:
        try:
            inner = _trustroot_v1.TrustedRoot.from_json(raw)
        except Exception as err:  # pydantic ValidationError, ValueError...
            raise TrustRootInvalid(f"{name}: not a usable Sigstore trusted root: {err}") from err
        self._raw = bytes(raw)
        self.name = name
        self._inner = inner
        self._verifier: Verifier | None = None
        self._lock = threading.Lock()
        if not deferred:
            self.load()

    def load(self) -> Verifier:
        """Build (once) and return the sigstore-python verifier for this root; it makes no
        network calls. Raises `TrustRootInvalid` when sigstore-python refuses the root."""
        verifier = self._verifier
        if verifier is not None:
            return verifier
        with self._lock:
            if self._verifier is None:
                from sigstore.models import TrustedRoot as _SigstoreTrustedRoot
                from sigstore.verify import Verifier

                try:
                    self._verifier = Verifier(trusted_root=_SigstoreTrustedRoot(self._inner))
                except Exception as err:  # sigstore Error, ValueError...
                    raise TrustRootInvalid(
                        f"{self.name}: not a usable Sigstore trusted root: {err}") from err
            return self._verifier

    @classmethod
    def public_good(cls, *, deferred: bool = False) -> TrustRoot:
        """The Sigstore public-good root pinned in this package (signing/data/)."""
        return cls(_read_packaged(_PINNED["public-good"][0]), name="public-good",
                   deferred=deferred)

    @classmethod
    def staging(cls, *, deferred: bool = False) -> TrustRoot:
        """The Sigstore staging root pinned in this package (for tests against staging)."""
        return cls(_read_packaged(_PINNED["staging"][0]), name="staging", deferred=deferred)

    @classmethod
    def named(cls, setting: str, *, deferred: bool = False) -> TrustRoot:
        """The root a setting names: ``public-good``, ``staging`` or a path to a
        trusted_root.json (the registry's ``VOUCH_SIGSTORE_TRUST`` and ``vouch verify
        --trust`` both read it here). Raises `TrustRootInvalid` for an unreadable file."""
        if setting == "public-good":
            return cls.public_good(deferred=deferred)
        if setting == "staging":
            return cls.staging(deferred=deferred)
        return cls.from_file(setting, deferred=deferred)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, deferred: bool = False) -> TrustRoot:
        """A custom root (private Sigstore deployments, tests). Raises `TrustRootInvalid`."""
        try:
            raw = Path(path).read_bytes()
        except OSError as err:
            raise TrustRootInvalid(f"cannot read trusted root {path}: {err}") from err
        return cls(raw, name=str(path), deferred=deferred)

    @classmethod
    def from_json(cls, raw: bytes | str, *, name: str = "custom",
                  deferred: bool = False) -> TrustRoot:
        """A root given as JSON text. Raises `TrustRootInvalid`."""
        return cls(raw.encode() if isinstance(raw, str) else raw, name=name, deferred=deferred)

    @property
    def raw_json(self) -> bytes:
        """The exact bytes this root was loaded from."""
        return self._raw

    @property
    def sha256(self) -> str:
        """Hex sha256 of `raw_json`, to record which root verified a signature."""
        return hashlib.sha256(self._raw).hexdigest()

    @property
    def verifier(self) -> Verifier:
        """The sigstore-python verifier for this root (`load`)."""
        return self.load()

    def tlog_keys(self) -> list[TlogKey]:
        """Transparency-log keys listed in this root, in file order.

        Keys whose bytes cannot be parsed are skipped (sigstore-python skips them too)."""
        keys: list[TlogKey] = []
        for tlog in self._inner.tlogs:
            pk = tlog.public_key
            if pk.raw_bytes is None:
                continue
            der = bytes(pk.raw_bytes)
            try:
                public_key = load_der_public_key(der)
            except ValueError:
                continue
            validity: Any = pk.valid_for
            keys.append(
                TlogKey(
                    base_url=str(tlog.base_url),
                    key_id=hashlib.sha256(der).digest(),
                    public_key=public_key,
                    valid_from=validity.start,
                    valid_until=validity.end,
                )
            )
        return keys

    def tlog_key(self, key_id: bytes) -> TlogKey | None:
        """The tlog key whose sha256(DER SPKI) equals `key_id`, or None."""
        for key in self.tlog_keys():
            if key.key_id == key_id:
                return key
        return None

    def __repr__(self) -> str:
        return f"TrustRoot(name={self.name!r}, sha256={self.sha256[:12]}...)"


def refresh_via_tuf(
    dest: str | os.PathLike[str],
    *,
    repository_url: str = PUBLIC_GOOD_TUF_URL,
    bootstrap_root: bytes | None = None,
    fetcher: Any = None,
) -> TrustRoot:
    """Download the newest `trusted_root.json` through TUF and write it atomically to `dest`.

    `bootstrap_root` is the TUF `root.json` to start the chain of trust from; for the
    public-good and staging repositories the copy pinned in this package is used. `fetcher`
    (a `tuf.ngclient.FetcherInterface`) is for tests. TUF metadata lives in a throwaway
    directory: nothing is read from or written to $HOME.

    Raises `TrustRefreshFailed` if the repository cannot be reached, TUF rejects the metadata,
    or the downloaded file is not a valid trusted root; `dest` is then left untouched.
    """
    from tuf.ngclient.updater import Updater

    url = repository_url.rstrip("/")
    if bootstrap_root is None:
        known = {PUBLIC_GOOD_TUF_URL: "public-good", STAGING_TUF_URL: "staging"}
        if url not in known:
            raise TrustRefreshFailed(f"no bootstrap TUF root for {url}; pass bootstrap_root")
        bootstrap_root = _read_packaged(_PINNED[known[url]][1])

    with tempfile.TemporaryDirectory(prefix="vouch-tuf-") as work:
        metadata_dir = Path(work, "metadata")
        targets_dir = Path(work, "targets")
        metadata_dir.mkdir()
        targets_dir.mkdir()
        try:
            updater = Updater(
                metadata_dir=str(metadata_dir),
                metadata_base_url=url,
                target_dir=str(targets_dir),
                target_base_url=f"{url}/targets/",
                fetcher=fetcher,
                bootstrap=bootstrap_root,
            )
            updater.refresh()
            info = updater.get_targetinfo("trusted_root.json")
            if info is None:
                raise TrustRefreshFailed(f"{url} publishes no trusted_root.json target")
            path = updater.download_target(info)
            raw = Path(path).read_bytes()
        except TrustRefreshFailed:
            raise
        except Exception as err:  # tuf DownloadError, RepositoryError, OSError, ...
            raise TrustRefreshFailed(
                f"could not refresh the trust root from {url} through TUF "
                f"(network unreachable or metadata rejected): {err}"
            ) from err

    try:
        root = TrustRoot(raw, name=str(dest))
    except TrustRootInvalid as err:
        raise TrustRefreshFailed(f"{url} served an unusable trusted_root.json: {err}") from err
    _atomic_write(Path(dest), raw)
    return root


def _atomic_write(dest: Path, data: bytes) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

