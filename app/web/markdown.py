"""Markdown from advisories, rendered safely for the pages.

    html = render_markdown(record["details"])     # markupsafe.Markup

CommonMark through markdown-it-py with raw HTML off (``<script>`` in the text is shown as
text), no images (they would fetch from anywhere; the CSP refuses them anyway), and links only
to ``http``, ``https`` and ``mailto`` URLs or within the page: a ``javascript:``, ``data:`` or
``vbscript:`` link stays plain text. Links get ``rel="nofollow noopener noreferrer"``. Never
raises on any input string.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markupsafe import Markup

_SCHEMES = {"http", "https", "mailto"}


def _safe_link(url: str) -> bool:
    cleaned = "".join(ch for ch in url if ch > " " and ch != "\x7f").lower()
    scheme = urlsplit(cleaned).scheme if ":" in cleaned.split("/", 1)[0] else ""
    return scheme in _SCHEMES or (not scheme and not cleaned.startswith("//"))


def _renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")
    md.validateLink = _safe_link  # type: ignore[method-assign]

    def link_open(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
        return str(renderer.renderToken(tokens, idx, options, env))

    md.add_render_rule("link_open", link_open)
    return md


_MD = _renderer()


def render_markdown(text: str) -> Markup:
    """``text`` (Markdown) as HTML safe to insert into a page."""
    return Markup(_MD.render(text))  # noqa: S704  (html off, links vetted: see the docstring)
