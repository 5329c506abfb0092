"""Text of a paper repo's PDF, extracted once per PDF and kept (bounded) for the search index.

The PDF is ``paper.pdf`` at main, else the first ``*.pdf`` at the root. Extraction (pypdf)
reads at most ``MAX_PAGES`` pages of a file of at most ``MAX_PDF_BYTES`` and keeps the first
``MAX_TEXT_CHARS`` characters; a PDF it cannot read is indexed without its text (logged),
never failing the commit that added it.

>>> with store.write() as s:                                           # doctest: +SKIP
...     refresh_pdf_text(s, store, repo, tree)
"""

from __future__ import annotations

import io
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable

from sqlalchemy import delete
from sqlalchemy.orm import Session

from workbench.store import contents
from workbench.store import models as m
from workbench.store.store import Store
from workbench.store.trees import Tree, TreeEntry

log = logging.getLogger(__name__)

MAX_PDF_BYTES = 50 * 1024 * 1024
MAX_PAGES = 200
MAX_TEXT_CHARS = 200_000


def pdf_entry(tree: Tree | None) -> TreeEntry | None:
    if tree is None:
        return None
    entry = tree.get("paper.pdf")
    if entry is not None:
        return entry
    pdfs = sorted(p for p in tree.entries if p.lower().endswith(".pdf") and "/" not in p)
    return tree.get(pdfs[0]) if pdfs else None


def extract_text(data: bytes) -> str:
    """The text of a PDF's first pages; '' when it has none or cannot be read."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # malformed PDFs are the uploader's
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        parts: list[str] = []
        size = 0
        for page in reader.pages[:MAX_PAGES]:
            text = page.extract_text() or ""
            parts.append(text)
            size += len(text)
            if size >= MAX_TEXT_CHARS:
                break
    except PyPdfError as exc:
        log.warning("cannot read the PDF's text: %s", exc)
        return ""
    except Exception as exc:  # a malformed upload must never fail the commit that adds it
        log.warning("cannot read the PDF's text (%s): %s", type(exc).__name__, exc)
        return ""
    return " ".join(parts)[:MAX_TEXT_CHARS]


_EXTRACTED: OrderedDict[str, str] = OrderedDict()  # sha256 -> text, for the next commit
_EXTRACTED_MAX = 16
_LOCK = threading.Lock()


def _remember(sha256: str, text: str) -> None:
    with _LOCK:
        _EXTRACTED[sha256] = text
        _EXTRACTED.move_to_end(sha256)
        while len(_EXTRACTED) > _EXTRACTED_MAX:
            _EXTRACTED.popitem(last=False)


def _recall(sha256: str) -> str | None:
    with _LOCK:
        return _EXTRACTED.pop(sha256, None)


def extract_ahead(store: Store, files: Iterable[tuple[str, str, int]]) -> None:
    """Extract the text of root-level PDFs about to be committed (path, sha256, size), before
    the commit's transaction: a long extraction must not hold the database's write lock."""
    for path, sha256, size in files:
        if path.lower().endswith(".pdf") and "/" not in path and size <= MAX_PDF_BYTES:
            try:
                _remember(sha256, extract_text(store.blobs.read(sha256)))
            except OSError:  # not stored (yet): extracted in the transaction, or never
                continue


def refresh_pdf_text(s: Session, store: Store, repo: m.Repo, tree: Tree | None) -> bool:
    """Store the text of the PDF at ``tree`` (a paper repo's main); True if it changed."""
    if repo.type != "paper":
        return False
    entry = pdf_entry(tree)
    row = s.get(m.PaperText, repo.id)
    if entry is None:
        if row is None:
            return False
        s.execute(delete(m.PaperText).where(m.PaperText.repo_id == repo.id))
        return True
    if row is not None and row.sha256 == entry.sha256:
        return False
    recalled = _recall(entry.sha256)
    text = recalled or ""
    if recalled is None and entry.size <= MAX_PDF_BYTES:
        try:
            text = extract_text(contents.read_bytes(store, entry))
        except OSError as exc:  # fsck reports missing blobs; index what we have
            log.warning("PDF blob %s unreadable: %s", entry.sha256, exc)
    if row is None:
        s.add(m.PaperText(repo_id=repo.id, sha256=entry.sha256, path=entry.path, text=text))
    else:
        row.sha256, row.path, row.text = entry.sha256, entry.path, text
    s.flush()
    return True


def pdf_text(s: Session, repo: m.Repo) -> str:
    row = s.get(m.PaperText, repo.id) if repo.type == "paper" else None
    return row.text if row is not None else ""
