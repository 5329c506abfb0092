"""User markdown to safe HTML, computed once when a comment is written.

Raw HTML in the markdown is escaped (markdown-it with ``html=False``) and the result goes
through bleach's allow-list, so neither ``<script>`` nor ``onerror=`` attributes nor
``javascript:`` links survive, whatever the renderer lets through.

>>> render_markdown("**hi** <script>alert(1)</script>")
'<p><strong>hi</strong> &lt;script&gt;alert(1)&lt;/script&gt;</p>'
"""

from __future__ import annotations

from functools import lru_cache

import bleach
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset({"a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3",
                          "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "s", "strong", "table",
                          "tbody", "td", "th", "thead", "tr", "ul", "img"})
ALLOWED_ATTRIBUTES = {"a": ["href", "title"], "img": ["src", "alt", "title"], "code": ["class"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")


def render_markdown(text: str) -> str:
    html = _parser().render(text)
    return bleach.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                        protocols=ALLOWED_PROTOCOLS, strip=True).strip()
