"""The advisory database library: OSV records, validation, range matching, import/export.

Example::

    from advisories.io import import_path
    from advisories.matching import AdvisoryIndex

    index = AdvisoryIndex()
    for outcome in import_path(Path("osv/"), stored={}):
        if outcome.record is not None:
            index.add(outcome.record)
    index.query("pypi", "requests", "2.31.0")       # -> [Advisory, ...]

Modules (each has its own usage example):

- ``models``: ``Advisory.from_json`` / ``.to_json`` (OSV 1.7, lossless round trip)
- ``schema``: ``validate_osv`` / ``schema_problems`` against the shipped OSV JSON schema
- ``ids``: local ``x_VOUCH-YYYY-NNNN`` ids; ``check_id`` for any OSV id
- ``severity``: CVSS scoring and levels low | moderate | high | critical
- ``ranges``: ``is_affected`` / ``evaluate`` / ``compile_affected`` (OSV.dev semantics)
- ``matching``: ``AdvisoryIndex`` (query, query_batch, get)
- ``io``: import outcomes (created/updated/unchanged/invalid) and export
- ``lifecycle``: draft, edit, publish, withdraw (pure; the app stores and audits)
- ``ecosystems`` / ``purl``: Vouch vs OSV ecosystem names, name normalisation, purls
- ``errors``: every error carries a stable ``code`` for problem+json

No FastAPI, no database, no environment variables.
"""
