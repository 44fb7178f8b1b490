"""Registry errors in the words of the command line: form fields become the flags a user types.

    with name_flags(PUBLISH_FLAGS):
        api.publish(...)       # "send a Sigstore bundle (sigstore_bundle)" -> "(--bundle)"

The registry names the multipart fields of its API (``sigstore_bundle``, ``gpg_signature``);
a problem's ``field`` member and field names inside its detail are rewritten to the flag of the
command that sent them, and ``signature_required`` gets the steps to sign.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from client.errors import ClientError

PUBLISH_FLAGS = {"sigstore_bundle": "--bundle", "gpg_signature": "--gpg-signature",
                 "metadata": "--metadata", "artifact": "ARTIFACT", "sha256": "ARTIFACT"}

SIGNING_HINT = ("to sign with GPG: `vouch gpg-key add` once, then `gpg --armor --detach-sign "
                "ARTIFACT` and `vouch publish NAME@VERSION ARTIFACT --gpg-signature "
                "ARTIFACT.asc`; or pass a Sigstore bundle with --bundle")


def rename_fields(text: str, flags: dict[str, str]) -> str:
    """Replace whole-word field names in ``text`` with their flags."""
    for field, flag in flags.items():
        if field in ("artifact", "metadata", "sha256"):
            text = re.sub(rf"\bthe {field} field\b", flag, text)
            continue
        text = re.sub(rf"(?<![\w-]){re.escape(field)}(?![\w-])", flag, text)
    return text


@contextmanager
def name_flags(flags: dict[str, str]) -> Iterator[None]:
    """Re-raise a ``ClientError`` with its field names replaced by ``flags``."""
    try:
        yield
    except ClientError as err:
        message = rename_fields(err.message, flags)
        field = err.problem.get("field")
        if isinstance(field, str):
            flag = flags.get(field) or flags.get(field.removeprefix("the ").split(" ")[0])
            if flag and flag not in message:
                message += f" ({flag})"
        if err.code == "signature_required":
            message += f"\n  {SIGNING_HINT}"
        err.message = message
        err.args = (message,)
        raise
