"""Advisories: the security team's records, OSV queries against them, and quarantine.

    results = registry.advisories.query_batch([query])    # service.py

``service`` (lifecycle, import/export, listing, OSV queries; owns its transactions),
``index`` (the compiled in-memory index, ranges evaluated by the ``advisories`` library),
``osv`` (the OSV wire format), ``quarantine`` (malicious versions), ``store`` (rows),
``schemas`` (wire models), ``errors`` (domain errors and the library's error mapping).
"""
