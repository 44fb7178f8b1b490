"""Ecosystem names: Vouch's (``generic``, ``npm``, ``pypi``) against OSV's (``Vouch``, ``npm``,
``PyPI``), and package-name normalisation per ecosystem.

Example::

    >>> from advisories.ecosystems import osv_ecosystem, normalize_name
    >>> osv_ecosystem("pypi")
    'PyPI'
    >>> normalize_name("PyPI", "Django_REST.framework")
    'django-rest-framework'
    >>> normalize_name("npm", "@Hapi/Hoek")     # npm names are case-sensitive: unchanged
    '@Hapi/Hoek'

OSV ecosystem names are case-sensitive (``pypi`` is not an OSV ecosystem, ``PyPI`` is). OSV has no
ecosystem for Vouch's ``generic`` packages, so records about them use the local ecosystem name
``Vouch``; :mod:`advisories.schema` accepts it as a documented local extension of the upstream
schema (upstream validators refuse it, exactly as they refuse ``x_`` ids before schema 1.7.5+main).
"""

from __future__ import annotations

import re
from typing import Literal

from advisories.errors import UnknownEcosystem

VouchEcosystem = Literal["generic", "npm", "pypi"]

#: OSV ecosystem name used for Vouch ``generic`` packages (not in the upstream list).
LOCAL_OSV_ECOSYSTEM = "Vouch"

_VOUCH_TO_OSV: dict[str, str] = {"generic": LOCAL_OSV_ECOSYSTEM, "npm": "npm", "pypi": "PyPI"}
_OSV_TO_VOUCH: dict[str, VouchEcosystem] = {
    LOCAL_OSV_ECOSYSTEM: "generic",
    "npm": "npm",
    "PyPI": "pypi",
}

_PEP503_SEPARATORS = re.compile(r"[-_.]+")


def base_ecosystem(osv_name: str) -> str:
    """The ecosystem without its optional ``:suffix`` (``Debian:11`` -> ``Debian``)."""
    return osv_name.split(":", 1)[0]


def osv_ecosystem(name: str) -> str:
    """The OSV ecosystem name for a Vouch or OSV ecosystem name.

    Accepts Vouch names (``generic``, ``npm``, ``pypi``) and the OSV names of the ecosystems Vouch
    serves (``Vouch``, ``npm``, ``PyPI``). Raises :class:`UnknownEcosystem` for anything else,
    including wrong case such as ``Pypi`` (OSV is case-sensitive).
    """
    if name in _VOUCH_TO_OSV:
        return _VOUCH_TO_OSV[name]
    if name in _OSV_TO_VOUCH:
        return name
    raise UnknownEcosystem(name)


def to_osv_name(name: str) -> str:
    """Like :func:`osv_ecosystem` but lenient: names it does not know come back unchanged
    (``RubyGems`` stays ``RubyGems``). Never fails."""
    return _VOUCH_TO_OSV.get(name, name)


def vouch_ecosystem(osv_name: str) -> VouchEcosystem:
    """The Vouch ecosystem for an OSV ecosystem name; raises :class:`UnknownEcosystem`."""
    try:
        return _OSV_TO_VOUCH[base_ecosystem(osv_name)]
    except KeyError:
        raise UnknownEcosystem(osv_name) from None


def normalize_name(osv_name: str, package: str) -> str:
    """The canonical form of ``package`` in ecosystem ``osv_name`` (an OSV name).

    PyPI names are PEP 503-normalised (runs of ``-_.`` become ``-``, lower case); every other
    ecosystem compares names exactly (npm names are case-sensitive). Never fails.
    """
    if base_ecosystem(osv_name) == "PyPI":
        return _PEP503_SEPARATORS.sub("-", package).lower()
    return package
