"""The npm registry protocol's app side: services that apply the registry's rules (ownership,
signature policy, immutability, download rules, advisories) to the npm format
(``formats.npm``). Routes are in ``app/routers/npm.py``, mounted under ``/npm/``.
"""
