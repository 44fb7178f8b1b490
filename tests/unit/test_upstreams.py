"""The upstream configuration file (formats.upstreams) and upstream project pages
(formats.pypi.remote): what is accepted, and that every mistake is named (issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.config import Settings
from formats.pypi.remote import InvalidUpstreamPage, parse_project_page
from formats.upstreams import Upstream, UpstreamConfigError, parse_upstreams

GOOD = '''
[[upstream]]
name = "pypi"
format = "pypi"
url = "https://pypi.example.org/simple"
metadata_ttl = "10m"
timeout = 30
token_env = "PYPI_MIRROR_TOKEN"

[[upstream]]
name = "npmjs"
format = "npm"
url = "https://registry.npmjs.org/"
unsigned = "refuse"
'''


def test_a_good_file() -> None:
    assert parse_upstreams(GOOD) == (
        Upstream("pypi", "pypi", "https://pypi.example.org/simple/", 600.0, 30.0,
                 "PYPI_MIRROR_TOKEN", "warn"),
        Upstream("npmjs", "npm", "https://registry.npmjs.org/", 600.0, 30.0, None, "refuse"))
    assert parse_upstreams("") == ()


@pytest.mark.parametrize(("text", "message"), [
    ("[[upstream]]\nname='x'\nformat='pypi'\nurl='https://a/'\ntoken='s3cret'",
     "would put a secret in the file"),
    ("[[upstream]]\nname='x'\nformat='pypi'\nurl='https://u:p@a/'", "without credentials"),
    ("[[upstream]]\nname='x'\nformat='maven'\nurl='https://a/'", "'format' must be one of"),
    ("[[upstream]]\nname='x'\nformat='pypi'\nurl='ftp://a/'", "must be an http(s) URL"),
    ("[[upstream]]\nname='x'\nformat='pypi'\nurl='https://a/'\ntimeout='soon'",
     "timeout must be a duration"),
    ("[[upstream]]\nname='x'\nformat='pypi'\nurl='https://a/'\nmetadata_ttl='0s'",
     "more than 0"),
    ("[[upstream]]\nname='x'\nformat='pypi'\nurl='https://a/'\nmirror=true", "unknown key"),
    ("[[upstream]]\nname='x'\nformat='pypi'\nurl='https://a/'\n[[upstream]]\nname='x'\n"
     "format='npm'\nurl='https://b/'", "two upstreams are named 'x'"),
    ("[[upstream]]\nname='x'\nformat='pypi'\nurl='https://a/'\n[[upstream]]\nname='y'\n"
     "format='pypi'\nurl='https://b/'", "two upstreams of format 'pypi'"),
    ("[[upstream]]\nname='Bad Name'\nformat='pypi'\nurl='https://a/'", "'name' must be"),
    ("[[upstream]]\nname='x'\nformat='pypi'\nurl='https://a/'\ntoken_env='a b'",
     "token_env"),
    ("[[upstream]]\nname='x'\nformat='pypi'\nurl='https://a/'\nunsigned='maybe'",
     "'unsigned' must be one of"),
    ("upstream = 3", "array of tables"),
    ("[mirror]\nurl='x'", "unknown top-level key"),
    ("[[upstream]\n", "not valid TOML"),
])
def test_mistakes_are_named(text: str, message: str) -> None:
    with pytest.raises(UpstreamConfigError) as caught:
        parse_upstreams(text)
    assert message in caught.value.detail


def test_settings_refuse_a_bad_file_or_a_missing_token_variable_at_start_up(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "upstreams.toml"
    config.write_text("[[upstream]]\nname='x'\nformat='pypi'\nurl='https://a/'\n"
                      "token_env='VOUCH_TEST_UPSTREAM_TOKEN'\n")
    monkeypatch.delenv("VOUCH_TEST_UPSTREAM_TOKEN", raising=False)
    with pytest.raises(ValidationError, match=r"VOUCH_TEST_UPSTREAM_TOKEN.*not set"):
        Settings(data_dir=tmp_path, upstreams=config)
    monkeypatch.setenv("VOUCH_TEST_UPSTREAM_TOKEN", "s3cret-value")
    assert Settings(data_dir=tmp_path, upstreams=config).upstreams == config
    config.write_text("[[upstream]]\nname='x'\nformat='pypi'\nurl='https://a/'\npassword='p'")
    with pytest.raises(ValidationError) as caught:
        Settings(data_dir=tmp_path, upstreams=config)
    assert "would put a secret" in str(caught.value) and "'p'" not in str(caught.value)
    with pytest.raises(ValidationError, match="cannot read"):
        Settings(data_dir=tmp_path, upstreams=tmp_path / "missing.toml")


SHA = "a" * 64
META = "b" * 64


def test_pep_691_json_page() -> None:
    body = ('{"meta":{"api-version":"1.1"},"name":"foo","files":['
            f'{{"filename":"foo-1.0-py3-none-any.whl","url":"../../files/foo-1.0-py3-none-any.whl",'
            f'"hashes":{{"sha256":"{SHA}"}},"requires-python":">=3.8","size":12,'
            f'"upload-time":"2026-01-02T03:04:05.000000Z","yanked":"broken",'
            f'"core-metadata":{{"sha256":"{META}"}}}},'
            '{"filename":"foo-1.0.zip","url":"x","hashes":{}},'
            '{"filename":"foo-1.1.tar.gz","url":"https://cdn/foo-1.1.tar.gz","hashes":{}}]}')
    files = parse_project_page(body.encode(), "application/vnd.pypi.simple.v1+json",
                               "https://up/simple/foo/")
    assert [(f.filename, f.version, f.url, f.sha256) for f in files] == [
        ("foo-1.0-py3-none-any.whl", "1.0", "https://up/files/foo-1.0-py3-none-any.whl", SHA),
        ("foo-1.1.tar.gz", "1.1", "https://cdn/foo-1.1.tar.gz", None)]
    assert files[0].yanked == "broken" and files[0].core_metadata_sha256 == META
    assert files[0].size == 12 and files[0].upload_time is not None


def test_pep_503_html_page() -> None:
    body = (f'<html><body><a href="/packages/foo-1.0.tar.gz#sha256={SHA.upper()}" '
            'data-requires-python="&gt;=3.8">foo-1.0.tar.gz</a>'
            '<a href="/packages/foo-0.9.tar.gz#md5=abc">foo-0.9.tar.gz</a>'
            f'<a href="/p/foo-1.0-py3-none-any.whl#sha256={SHA}" data-yanked="" '
            f'data-core-metadata="sha256={META}">w</a></body></html>')
    files = parse_project_page(body.encode(), "text/html; charset=utf-8",
                               "http://127.0.0.1:9/simple/foo/")
    assert [(f.filename, f.sha256) for f in files] == [
        ("foo-1.0.tar.gz", SHA), ("foo-0.9.tar.gz", None), ("foo-1.0-py3-none-any.whl", SHA)]
    assert files[0].url == "http://127.0.0.1:9/packages/foo-1.0.tar.gz"
    assert files[0].requires_python == ">=3.8"
    assert files[2].yanked == "" and files[2].core_metadata_sha256 == META


@pytest.mark.parametrize(("body", "media"), [
    (b"{not json", "application/vnd.pypi.simple.v1+json"),
    (b'{"files": 3}', "application/json"),
    (b"\xff\xfe", "text/html"),
    (b"%PDF", "application/pdf"),
])
def test_unreadable_pages(body: bytes, media: str) -> None:
    with pytest.raises(InvalidUpstreamPage):
        parse_project_page(body, media, "https://up/simple/foo/")
