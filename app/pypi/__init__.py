"""The Python package format in the registry (issue 14): the Simple Repository API read side
(``index``), uploads through the legacy API (``upload``; GPG ``.asc`` parts as for native
publishes, PEP 740 attestations through ``attestations``), PyPI-shaped trusted publishing
(``oidc``), and the mapping of ``formats`` errors (``errors``).

The pure rules (names, filenames, core metadata, index documents) are ``formats.pypi``; this
package applies the registry's rules to them: ownership, signature policy, trusted publishers,
immutability, the lifecycle, downloads. Routes: ``app/routers/pypi_simple.py`` and
``app/routers/pypi_upload.py``.
"""
