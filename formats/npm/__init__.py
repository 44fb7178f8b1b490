"""The npm package format: names, tarballs, packuments, publish bodies, registry signatures
and the ``npm audit`` answer (the npm registry protocol, research doc section 2c).

    >>> from formats.npm import NPM
    >>> NPM.normalize_name("@acme/widget")
    '@acme/widget'
    >>> NPM.version_sort_key("1.0.0-rc.1") < NPM.version_sort_key("1.0.0")
    True

Pure: no web framework, no database. Every failure is a ``formats.errors.FormatError`` (the
npm-specific ones are in ``formats.npm.errors``) with a stable ``code``.
"""

from formats.npm.names import NPM, NpmFormat

__all__ = ["NPM", "NpmFormat"]
