"""User text made safe: markdown to sanitized HTML, HTML and markdown escaping.

The one home of these rules, for the hub (comments, computed once when written) and the
notebook displays (cards, search results, records).

Raw HTML in the markdown is escaped (markdown-it with ``html=False``) and the result goes
through bleach's allow-list, so neither ``<script>`` nor ``onerror=`` attributes nor
``javascript:`` links survive, whatever the renderer lets through.

>>> render_markdown("**hi** <script>alert(1)</script>")
'<p><strong>hi</strong> &lt;script&gt;alert(1)&lt;/script&gt;</p>'
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from typing import Any

import bleach
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "code",
        "del",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "strong",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
        "img",
    }
)
ALLOWED_ATTRIBUTES = {"a": ["href", "title"], "img": ["src", "alt", "title"], "code": ["class"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")


def render_markdown(text: str) -> str:
    rendered = _parser().render(text)
    return bleach.clean(
        rendered, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, protocols=ALLOWED_PROTOCOLS, strip=True
    ).strip()


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|>~-])")


def md_escape(value: Any) -> str:
    """Text safe to put in markdown: markdown syntax escaped, no HTML."""
    text = "" if value is None else str(value)
    return _MD_SPECIAL.sub(r"\\\1", text.replace("&", "&amp;").replace("<", "&lt;"))


_UNSAFE_LINK = re.compile(
    r"(?i)(\]\(\s*<?|^\s*\[[^\]]*\]:\s*<?)\s*(javascript|vbscript|data|file):", re.MULTILINE
)


def safe_markdown(text: str) -> str:
    """Markdown with raw HTML neutralised (``<`` escaped outside code) and unsafe links cut."""
    out: list[str] = []
    fence: str | None = None
    for line in text.splitlines(keepends=True):
        stripped = line.lstrip()
        marker = stripped[:3]
        if fence is None and marker in ("```", "~~~"):
            fence = marker
            out.append(line)
            continue
        if fence is not None:
            if stripped.startswith(fence):
                fence = None
            out.append(line)
            continue
        # Escape '<' outside inline code spans; the parser escapes what is inside them.
        parts = re.split(r"(`+[^`]*`+)", line)
        out.append("".join(p if p.startswith("`") else p.replace("<", "&lt;") for p in parts))
    return _UNSAFE_LINK.sub(lambda m: m.group(1) + "#blocked-", "".join(out))
