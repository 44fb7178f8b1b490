"""The few DER encodings the instance writes by hand (``cryptography`` has no encoder for them).

Example::

    >>> utf8_string("ab")
    b'\\x0c\\x02ab'
"""

from __future__ import annotations

_TAG_OCTET_STRING = 0x04
_TAG_UTF8_STRING = 0x0C


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, value: bytes) -> bytes:
    """Encode one DER tag-length-value with a definite length."""
    return bytes([tag]) + _length(len(value)) + value


def octet_string(value: bytes) -> bytes:
    """DER OCTET STRING."""
    return tlv(_TAG_OCTET_STRING, value)


def utf8_string(value: str) -> bytes:
    """DER UTF8String (how Fulcio writes extensions 1.3.6.1.4.1.57264.1.8 and later)."""
    return tlv(_TAG_UTF8_STRING, value.encode("utf-8"))
