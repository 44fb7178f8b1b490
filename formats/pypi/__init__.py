"""The Python package format: PEP 503 names, PEP 440 versions, wheel and sdist filenames,
core metadata (PEP 566/643), and the Simple Repository API documents (PEP 503/691/658/714/
592/700/740/792).

    >>> from formats.pypi import PYPI
    >>> PYPI.normalize_name("Foo.Bar")
    'foo-bar'
"""

from formats.pypi.names import PYPI, PyPIFormat

__all__ = ["PYPI", "PyPIFormat"]
