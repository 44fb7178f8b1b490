"""Package formats: the pure rules of each ecosystem the registry speaks.

    >>> from formats.pypi import names
    >>> names.normalize("Foo.Bar_baz")
    'foo-bar-baz'

``formats/base.py`` holds what every format provides (``Format``); ``formats/pypi/`` is the Python
format (PEP 503 names, wheel and sdist filenames, core metadata, Simple API documents). A later
``formats/npm/`` is its sibling. This package is a library: no web framework, no database, no
import of ``app`` or ``client``; every failure is a ``formats.errors.FormatError`` with a stable
``code``.
"""
