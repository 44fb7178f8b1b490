from __future__ import annotations

import pytest

from advisories.ecosystems import normalize_name, osv_ecosystem, to_osv_name, vouch_ecosystem
from advisories.errors import UnknownEcosystem


def test_mapping_both_ways():
    assert [osv_ecosystem(n) for n in ("generic", "npm", "pypi", "PyPI", "Vouch")] == [
        "Vouch", "npm", "PyPI", "PyPI", "Vouch",
    ]  # fmt: skip
    assert vouch_ecosystem("PyPI") == "pypi"
    assert to_osv_name("RubyGems") == "RubyGems"


@pytest.mark.parametrize("name", ["Pypi", "NPM", "RubyGems", ""])
def test_unknown_or_wrong_case_is_refused(name):
    with pytest.raises(UnknownEcosystem) as err:
        osv_ecosystem(name)
    assert err.value.code == "unknown_ecosystem"


def test_name_normalisation():
    assert normalize_name("PyPI", "Zope.Interface__x") == "zope-interface-x"
    assert normalize_name("npm", "@Hapi/Hoek") == "@Hapi/Hoek"
    assert normalize_name("Vouch", "@org/Tool") == "@org/Tool"
