"""Collections: ordered, annotated lists of models, datasets, spaces and papers, as on the
Hugging Face Hub.

A collection belongs to a user or an organization. Reading follows the repos' rule
(:mod:`workbench.store.access`): a public collection is readable by everyone, a private one
by its owner, the members (any role) of the owning organization and hub admins; everyone
else gets the 404 of a missing collection, on every call. Changing a collection needs a
write-scope token and the write role in the owner's namespace. An item that names a repo
the reader may not see is left out of what that reader gets (and of the item filter).

Collections are found by slug, ``{owner}/{title-slug}-{id}``: only the owner and the id
count, so a slug keeps working after a change of title.

>>> with store.write() as s:                                                 # doctest: +SKIP
...     c = create_collection(s, p, "acme", "Baselines", description="What to beat")
...     add_item(store, s, p, c.slug, "acme/bert-tiny", "model", note="the floor")
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workbench.errors import Conflict, InvalidRequest, NotFound, PermissionDenied
from workbench.names import PLURAL_TYPES, split_repo_id
from workbench.store import models as m
from workbench.store.access import (
    Principal,
    can_write_namespace,
    readable_clause,
    readable_repo,
    require_write_scope,
)
from workbench.store.accounts import get_account
from workbench.store.audit import record_event
from workbench.store.collection_models import Collection, CollectionItem
from workbench.store.collection_views import CollectionView, load_view, load_views, slugify
from workbench.store.paper_links import find_paper
from workbench.store.store import Store, utcnow

ITEM_TYPES = ("model", "dataset", "space", "paper")
THEMES = ("orange", "blue", "green", "purple", "pink", "indigo")
SORTS = ("lastModified", "trending", "upvotes")
MAX_TITLE = 100
MAX_DESCRIPTION = 150  # as the Hugging Face Hub (``create_collection``'s documentation)
MAX_NOTE = 500
COLLECTION_CREATE = "collection.create"
COLLECTION_DELETE = "collection.delete"
COLLECTION_VISIBILITY = "collection.visibility"
_ID = re.compile(r"^[0-9a-f]{24}$")


# -- checks -----------------------------------------------------------------------------------


def _title(value: str) -> str:
    title = value.strip()
    if not title:
        raise InvalidRequest("A collection needs a title.", code="EmptyTitle")
    if len(title) > MAX_TITLE:
        raise InvalidRequest(
            f"The title has {len(title)} characters; at most {MAX_TITLE} are allowed.", code="TitleTooLong"
        )
    return title


def _description(value: str) -> str:
    if len(value) > MAX_DESCRIPTION:
        raise InvalidRequest(
            f"The description has {len(value)} characters; at most {MAX_DESCRIPTION} are allowed.",
            code="DescriptionTooLong",
        )
    return value


def _note(value: str) -> str | None:
    if len(value) > MAX_NOTE:
        raise InvalidRequest(
            f"The note has {len(value)} characters; at most {MAX_NOTE} are allowed.", code="NoteTooLong"
        )
    return value or None


def _theme(value: str) -> str:
    if value not in THEMES:
        raise InvalidRequest(f"Unknown theme {value!r}: use one of {', '.join(THEMES)}.", code="InvalidTheme")
    return value


def _position(value: int) -> int:
    if value < 0:
        raise InvalidRequest("A position is 0 or more.", code="InvalidField")
    return value


def _visible(p: Principal) -> ColumnElement[bool]:
    """Which collections ``p`` may read (the repos' rule, on the owner)."""
    owners = p.whole_owner_ids()
    if owners is None:
        return true()
    return or_(Collection.private.is_(False), Collection.owner_id.in_(owners or [-1]))


def _missing(slug: str) -> NotFound:
    return NotFound(
        f"Collection {slug!r} not found. Check the slug, and that your token may read it.",
        code="CollectionNotFound",
    )


def _find(s: Session, p: Principal, slug: str) -> tuple[Collection, m.Account]:
    namespace, _, rest = slug.partition("/")
    public_id = rest.rsplit("-", 1)[-1]
    row = (
        s.scalar(select(Collection).where(Collection.public_id == public_id))
        if _ID.match(public_id)
        else None
    )
    owner = s.get(m.Account, row.owner_id) if row is not None else None
    owners = p.whole_owner_ids()
    readable = row is not None and (not row.private or owners is None or row.owner_id in owners)
    if row is None or owner is None or owner.name != namespace or not readable:
        raise _missing(slug)
    return row, owner


def _writable(s: Session, p: Principal, slug: str) -> tuple[Collection, m.Account]:
    row, owner = _find(s, p, slug)
    require_write_scope(p, owner.name)
    if not can_write_namespace(p, owner):
        raise PermissionDenied(
            f"You may read collection {slug!r} but not change it: it belongs to {owner.name!r}; "
            "ask an admin of that namespace for the 'write' role.",
            code="WriteForbidden",
        )
    return row, owner


def _unique_title(s: Session, row: Collection, owner: m.Account) -> None:
    """Flush ``row``; the same title twice under one owner is a 409 naming the other slug."""
    with s.no_autoflush:  # ``row`` itself is not flushed yet
        clash = s.scalar(
            select(Collection).where(
                Collection.owner_id == owner.id,
                Collection.title == row.title,
                Collection.id != (row.id or -1),
            )
        )
    if clash is None:
        try:
            with s.begin_nested():
                s.flush()
            return
        except IntegrityError:  # another transaction took the title meanwhile
            clash = None
    slug = f"{owner.name}/{slugify(row.title)}-{clash.public_id}" if clash is not None else None
    raise Conflict(
        f"{owner.name!r} already has a collection titled {row.title!r}" + (f": {slug}." if slug else "."),
        code="CollectionExists",
        **({"slug": slug} if slug else {}),
    )


def _move(rows: Sequence[Any], row: Any, position: int) -> None:
    """Put ``row`` at ``position`` among ``rows`` (ordered) and number them all from 0."""
    ordered = [r for r in rows if r is not row]
    if row is not None:
        ordered.insert(min(position, len(ordered)), row)
    for i, r in enumerate(ordered):
        if r.position != i:
            r.position = i


def _owner_rows(s: Session, owner_id: int) -> list[Collection]:
    return list(
        s.scalars(
            select(Collection)
            .where(Collection.owner_id == owner_id)
            .order_by(Collection.position, Collection.id)
        )
    )


def _item_rows(s: Session, collection_id: int) -> list[CollectionItem]:
    return list(
        s.scalars(
            select(CollectionItem)
            .where(CollectionItem.collection_id == collection_id)
            .order_by(CollectionItem.position, CollectionItem.id)
        )
    )


# -- reading ----------------------------------------------------------------------------------


def get_collection(s: Session, p: Principal, slug: str) -> CollectionView:
    """The collection ``slug`` names with every item ``p`` may read (404 unless readable)."""
    return load_view(s, p, *_find(s, p, slug))


def _item_filter(s: Session, p: Principal, items: Sequence[str]) -> list[int]:
    """Repo ids of ``models/ns/name``, ``datasets/...``, ``spaces/...``, ``papers/ID`` (a bare
    ``ns/name`` is a model) that ``p`` may read; anything else matches nothing."""
    found: list[int] = []
    for value in items:
        plural, _, rest = value.partition("/")
        repo_type = PLURAL_TYPES.get(plural)
        if repo_type is None:
            repo_type, rest = "model", value
        if repo_type == "paper":
            paper = find_paper(s, p, rest)
            found += [paper.id] if paper is not None else []
            continue
        namespace, _, name = rest.partition("/")
        found += s.scalars(
            select(m.Repo.id).where(
                m.Repo.type == repo_type,
                m.Repo.namespace == namespace,
                m.Repo.name == name,
                readable_clause(p),
            )
        ).all()
    return found


def list_collections(
    s: Session,
    p: Principal,
    *,
    owners: Sequence[str] = (),
    items: Sequence[str] = (),
    sort: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> list[CollectionView]:
    """Collections ``p`` may read, each with its first :data:`PREVIEW_ITEMS` readable items.

    Without ``sort``, an ``owners`` filter lists in each owner's order (``position``), else
    the most recently updated first; ``lastModified``, ``trending`` and ``upvotes`` all
    sort by last update (this hub has no upvotes).
    """
    if sort is not None and sort not in SORTS:
        raise InvalidRequest(f"Unknown sort {sort!r}: use one of {', '.join(SORTS)}.", code="InvalidSort")
    query = (
        select(Collection, m.Account).join(m.Account, m.Account.id == Collection.owner_id).where(_visible(p))
    )
    if owners:
        query = query.where(m.Account.name.in_(owners))
    if items:
        repo_ids = _item_filter(s, p, items)
        query = query.where(
            Collection.id.in_(
                select(CollectionItem.collection_id).where(CollectionItem.repo_id.in_(repo_ids))
            )
        )
    if owners and sort is None:
        query = query.order_by(m.Account.name, Collection.position, Collection.id)
    else:
        query = query.order_by(Collection.updated_at.desc(), Collection.id.desc())
    pairs = [(c, a) for c, a in s.execute(query.offset(offset).limit(limit)).tuples()]
    return load_views(s, p, pairs, preview=True)


# -- writing ----------------------------------------------------------------------------------


def create_collection(
    s: Session, p: Principal, namespace: str, title: str, *, description: str = "", private: bool = False
) -> CollectionView:
    """A new collection under ``namespace`` (the caller's user, or an org where they write),
    last in the owner's order; 409 ``CollectionExists`` (with its ``slug``) for a title the
    owner already uses."""
    require_write_scope(p, namespace)
    owner = get_account(s, namespace)
    if owner is None or not can_write_namespace(p, owner):
        raise PermissionDenied(
            f"You cannot create collections under {namespace!r}: it is not your user name "
            "or an organization where you have the 'write' role.",
            code="NamespaceForbidden",
        )
    now = utcnow()
    row = Collection(
        public_id=secrets.token_hex(12),
        owner_id=owner.id,
        title=_title(title),
        description=_description(description),
        private=private,
        theme=THEMES[0],
        position=len(_owner_rows(s, owner.id)),
        created_at=now,
        updated_at=now,
    )
    s.add(row)
    _unique_title(s, row, owner)
    view = load_view(s, p, row, owner)
    record_event(
        s, actor=p, action=COLLECTION_CREATE, namespace=owner.name, details={"collection": view.slug}
    )
    return view


def update_collection(
    s: Session,
    p: Principal,
    slug: str,
    *,
    title: str | None = None,
    description: str | None = None,
    position: int | None = None,
    private: bool | None = None,
    theme: str | None = None,
) -> CollectionView:
    """Change what is given; ``position`` moves it in its owner's order."""
    row, owner = _writable(s, p, slug)
    if title is not None:
        row.title = _title(title)
        _unique_title(s, row, owner)
    if description is not None:
        row.description = _description(description)
    if theme is not None:
        row.theme = _theme(theme)
    if private is not None and private != row.private:
        row.private = private
        record_event(
            s,
            actor=p,
            action=COLLECTION_VISIBILITY,
            namespace=owner.name,
            details={"collection": slug, "private": private},
        )
    if position is not None:
        _move(_owner_rows(s, owner.id), row, _position(position))
    row.updated_at = utcnow()
    return load_view(s, p, row, owner)


def delete_collection(s: Session, p: Principal, slug: str) -> None:
    row, owner = _writable(s, p, slug)
    record_event(s, actor=p, action=COLLECTION_DELETE, namespace=owner.name, details={"collection": slug})
    s.delete(row)  # its items go with it (ON DELETE CASCADE)
    s.flush()
    _move(_owner_rows(s, owner.id), None, 0)


def add_item(
    store: Store,
    s: Session,
    p: Principal,
    slug: str,
    item_id: str,
    item_type: str,
    *,
    note: str | None = None,
) -> CollectionView:
    """Append a repo the caller may read (404 otherwise); 409 ``CollectionItemExists`` if it
    is in the collection already. A paper is named by arXiv id, DOI or repo id."""
    row, owner = _writable(s, p, slug)
    if item_type not in ITEM_TYPES:
        raise InvalidRequest(
            f"Unknown item type {item_type!r}: a collection holds {', '.join(ITEM_TYPES)} items.",
            code="InvalidItemType",
        )
    text = _note(note) if note is not None else None
    ref = None
    if item_type == "paper":
        paper = find_paper(s, p, item_id)
        if paper is None:
            raise NotFound(f"No paper {item_id!r} that you may read.", code="PaperNotFound")
        repo, ref = paper, (item_id.strip() if item_id.strip() != f"{paper.namespace}/{paper.name}" else None)
    else:
        repo = readable_repo(store, s, p, (item_type, *split_repo_id(item_id)))
    existing = _item_rows(s, row.id)
    if any(i.repo_id == repo.id for i in existing):
        raise Conflict(
            f"{item_type} {item_id!r} is in collection {slug!r} already.", code="CollectionItemExists"
        )
    s.add(
        CollectionItem(
            public_id=secrets.token_hex(12),
            collection_id=row.id,
            repo_id=repo.id,
            ref=ref,
            position=len(existing),
            note=text,
            created_at=utcnow(),
        )
    )
    row.updated_at = utcnow()
    s.flush()
    return load_view(s, p, row, owner)


def _item(s: Session, row: Collection, slug: str, item_id: str) -> CollectionItem:
    item = s.scalar(
        select(CollectionItem).where(
            CollectionItem.collection_id == row.id, CollectionItem.public_id == item_id
        )
    )
    if item is None:
        raise NotFound(f"Collection {slug!r} has no item {item_id!r}.", code="CollectionItemNotFound")
    return item


def update_item(
    s: Session, p: Principal, slug: str, item_id: str, *, note: str | None = None, position: int | None = None
) -> CollectionView:
    """Change an item's note (``""`` removes it) or move it to ``position``."""
    row, owner = _writable(s, p, slug)
    item = _item(s, row, slug, item_id)
    if note is not None:
        item.note = _note(note)
    if position is not None:
        _move(_item_rows(s, row.id), item, _position(position))
    row.updated_at = utcnow()
    return load_view(s, p, row, owner)


def delete_item(s: Session, p: Principal, slug: str, item_id: str) -> None:
    row, _owner = _writable(s, p, slug)
    s.delete(_item(s, row, slug, item_id))
    s.flush()
    _move(_item_rows(s, row.id), None, 0)
    row.updated_at = utcnow()
