"""vouch.lock: deterministic output, round trip, and rejection of every malformed field."""

import pytest

from versions.lockfile import InvalidLockfile, LockedPackage, Lockfile
from versions.resolver import Candidate, InMemorySource, resolve

SHA256 = "ab" * 32
SHA512 = "cd" * 64


def package(name, version, **deps):
    return LockedPackage(name, version, f"https://registry.example/{name}/{version}.tgz",
                         SHA256, SHA512, dict(deps))


def sample():
    return Lockfile(
        root={"web": "^2.0.0", "cli": "~1.1.0"},
        packages=[package("web", "2.3.1", core="^1.0.0"), package("core", "1.4.0"),
                  package("cli", "1.1.7", core=">=1.2.0 <2")],
    )


def test_round_trip_and_determinism():
    lock = sample()
    text = lock.dumps()
    assert Lockfile.loads(text) == lock
    assert Lockfile.loads(text).dumps() == text
    shuffled = Lockfile(root=dict(reversed(list(lock.root.items()))),
                        packages=list(reversed(lock.packages)))
    assert shuffled.dumps() == text


def test_layout_is_diff_friendly():
    text = sample().dumps()
    assert text.count("[[package]]") == 3
    names = [line for line in text.splitlines() if line.startswith("name = ")]
    assert names == ['name = "cli"', 'name = "core"', 'name = "web"']
    assert "[package.dependencies]\ncore = \"^1.0.0\"" in text
    assert text.index('cli = "~1.1.0"') < text.index('web = "^2.0.0"')
    assert sample().get("core").version == "1.4.0" and sample().get("nope") is None


def test_from_resolution():
    source = InMemorySource({
        "a": [Candidate("1.0.0", {"b": "^1.0.0"})],
        "b": [Candidate("1.2.0")],
    })
    result = resolve({"a": "^1.0.0"}, source)
    lock = Lockfile.from_resolution(
        result.root, result.versions, result.dependencies,
        lambda name, version: (f"https://r.example/{name}-{version}.tgz", SHA256, SHA512))
    assert [(p.name, p.version, p.dependencies) for p in lock.packages] == [
        ("a", "1.0.0", {"b": "^1.0.0"}), ("b", "1.2.0", {})]


def break_field(text, old, new):
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        (f'sha256 = "{SHA256}"', 'sha256 = "xyz"', "sha256"),
        (f'sha256 = "{SHA256}"', f'sha256 = "{SHA256.upper()}"', "sha256"),
        (f'sha512 = "{SHA512}"', f'sha512 = "{SHA512[:-2]}"', "sha512"),
        (f'sha512 = "{SHA512}"\n', "", "package[0].sha512"),
        ('url = "https://registry.example/cli/1.1.7.tgz"', 'url = "file:///etc/passwd"', "url"),
        ('version = "1.4.0"', 'version = "1.4"', "version"),
        ('version = "1.4.0"', 'version = "0.9.0"', "does not satisfy"),
        ('name = "core"', 'name = "cli"', "locked twice"),
        ('lock-version = 1', 'lock-version = 2', "lock-version"),
        ('ecosystem = "generic"', 'ecosystem = "cargo"', "ecosystem"),
        ('cli = "~1.1.0"', 'cli = "~~1"', "root.cli"),
        ('cli = "~1.1.0"', 'cli = "~1.1.0"\nghost = "*"', "ghost is required but not locked"),
        ('name = "core"', 'name = "core"\nextra = 1', "unknown field"),
        ('[root]', 'surprise = true\n[root]', "unknown field"),
        ('lock-version = 1', 'lock-version = ', "not valid TOML"),
    ],
)
def test_rejects(old, new, where):
    text = break_field(sample().dumps(), old, new)
    with pytest.raises(InvalidLockfile) as caught:
        Lockfile.loads(text)
    assert caught.value.code == "invalid_lockfile"
    assert where in str(caught.value)


def test_constructor_validates_too():
    with pytest.raises(InvalidLockfile):
        LockedPackage("a", "1.0.0", "https://r/a", "00", SHA512)
    with pytest.raises(InvalidLockfile):
        Lockfile(root={"a": "^1"}, packages=[])


def test_pypi_lock():
    lock = Lockfile(root={"requests": ">=2"}, ecosystem="pypi",
                    packages=[package("requests", "2.31.0", urllib3="<3,>=1.21.1"),
                              package("urllib3", "2.2.1")])
    assert Lockfile.loads(lock.dumps()) == lock
