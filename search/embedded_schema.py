"""The tantivy schema of the embedded backend, and document conversion both ways.

    from search.embedded_schema import SCHEMA, to_tantivy, from_stored

    tdoc = to_tantivy(PackageDocument(name="@acme/foo-bar"))
    # name_prefix: "@", "@a", ..., "acme/foo-bar" prefixes, "f", "fo", "foo", ...
    # name_words:  "a", "ac", "acm", "acme", "f", "fo", "foo", "b", "ba", "bar"

tantivy has no edge-n-gram token filter (its ``ngram(prefix_only=True)`` tokenizer grams the
whole field value), so the edge n-grams of names are computed here, by `search.text`, and
indexed as values of ``raw`` fields; queries then look up the typed prefix as one term.
The whole document is stored as JSON in ``doc`` so hits and download updates can rebuild it.
"""

from __future__ import annotations

import json
import unicodedata

import tantivy

from search.documents import PackageDocument
from search.text import MAX_GRAM, MAX_NAME_PREFIX, edge_grams, name_variants, name_words

#: Bump when the schema changes: an index built with another version is not reused.
SCHEMA_VERSION = "v2"  # v2: documents of every format; identity in "ident"

DOWNLOADS = "downloads_total"
BOOL_FIELDS = ("demoted", "deprecated", "quarantined", "has_advisories", "verified_publisher")


def _build_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    for field in ("ident", "key", "name_prefix", "scope", "keywords_lc", "maintainers_lc"):
        sb.add_text_field(field, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("name_words", tokenizer_name="raw", index_option="freq")
    sb.add_text_field("description", tokenizer_name="default", index_option="freq")
    sb.add_text_field("keywords", tokenizer_name="default", index_option="freq")
    sb.add_unsigned_field(DOWNLOADS, fast=True)
    for field in BOOL_FIELDS:
        sb.add_boolean_field(field, indexed=True)
    sb.add_bytes_field("doc", stored=True)
    return sb.build()


SCHEMA = _build_schema()


def to_tantivy(doc: PackageDocument) -> tantivy.Document:
    """Turn a package document into the tantivy document indexed for it."""
    out = tantivy.Document()
    out.add_text("ident", doc.ident)
    out.add_text("key", doc.key)
    prefixes: dict[str, None] = {}
    for variant in name_variants(doc.name):
        prefixes.update(dict.fromkeys(edge_grams(variant, MAX_NAME_PREFIX)))
    for prefix in prefixes:
        out.add_text("name_prefix", prefix)
    for word in name_words(doc.name):
        for gram in edge_grams(word, MAX_GRAM):
            out.add_text("name_words", gram)
    if doc.scope:
        out.add_text("scope", doc.scope.lower())
    out.add_text("description", unicodedata.normalize("NFKC", doc.description))
    for keyword in doc.keywords:
        out.add_text("keywords", unicodedata.normalize("NFKC", keyword))
        out.add_text("keywords_lc", keyword.lower())
    for maintainer in doc.maintainers:
        out.add_text("maintainers_lc", maintainer.lower())
    out.add_unsigned(DOWNLOADS, doc.downloads_total)
    out.add_boolean("demoted", doc.demoted)
    for field in BOOL_FIELDS[1:]:
        out.add_boolean(field, bool(getattr(doc, field)))
    out.add_bytes("doc", json.dumps(doc.to_dict(), separators=(",", ":")).encode())
    return out


def from_stored(stored: tantivy.Document) -> PackageDocument:
    """Rebuild the package document from a stored tantivy document."""
    raw = stored.get_first("doc")
    if not isinstance(raw, bytes):
        raise ValueError("stored document has no 'doc' field")
    return PackageDocument.from_dict(json.loads(raw))
