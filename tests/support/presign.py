"""Check a presigned S3 GET URL the way S3 does: signature (SigV4, query string) and expiry.

    check_presigned(url, secret_key=..., now=datetime.now(UTC))   # or raises PresignRefused

moto, the S3 API the tests run against, serves a presigned URL whatever its signature or age
(moto 5.2.5 has no query-string authentication). S3 and MinIO refuse a URL once
``X-Amz-Date + X-Amz-Expires`` has passed, and any URL whose signed parameters were changed.
This module does those two checks, written from the SigV4 specification (AWS "Authenticating
requests: Using query parameters"), so that the registry's presigned URLs can be tested for
what real S3 would enforce, at any ``now``.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, urlsplit


class PresignRefused(Exception):
    """What S3 would answer with 403: ``code`` is S3's error code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signed_at(url: str) -> datetime:
    params = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    return datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def check_presigned(url: str, *, secret_key: str, now: datetime) -> None:
    """Raise ``PresignRefused("SignatureDoesNotMatch")`` or ``PresignRefused("AccessDenied")``
    (S3's code for "Request has expired") unless ``url`` is a valid GET at ``now``."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    params = dict(query)
    if params.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" or params.get(
            "X-Amz-SignedHeaders") != "host":
        raise PresignRefused("AuthorizationQueryParametersError")
    scope = params["X-Amz-Credential"].split("/", 1)[1]
    day, region, service, _ = scope.split("/")

    def encode(text: str) -> str:
        return quote(text, safe="-_.~")

    canonical_query = "&".join(f"{encode(k)}={encode(v)}" for k, v in sorted(
        (k, v) for k, v in query if k != "X-Amz-Signature"))
    canonical = "\n".join(["GET", parts.path, canonical_query, f"host:{parts.netloc}", "",
                           "host", "UNSIGNED-PAYLOAD"])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", params["X-Amz-Date"], scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret_key).encode()
    for part in (day, region, service, "aws4_request"):
        key = _hmac(key, part)
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, params.get("X-Amz-Signature", "")):
        raise PresignRefused("SignatureDoesNotMatch")
    if now > signed_at(url) + timedelta(seconds=int(params["X-Amz-Expires"])):
        raise PresignRefused("AccessDenied")
