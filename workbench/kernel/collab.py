"""Kernel helpers for collaboration: ``wb.comment``, ``wb.discussions``, ``wb.inbox``, ``wb.like``,
``wb.review``, ``wb.request_access``.

Displays escape every user-supplied string (titles, names, comment text): the notebook never
renders user markdown as raw HTML.

>>> wb.comment("admin/iris-mini", "Label 2 looks off", path="eval.ipynb", cell="a1b2")  # doctest: +SKIP
>>> wb.discussions("admin/iris-mini").df                                                 # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from workbench.errors import NotFound

TYPES = ("model", "dataset", "space", "paper")


def _client() -> Any:
    from workbench.kernel.session import connection

    return connection().client


def _repo_type(client: Any, repo_id: str, type: str | None) -> str:
    """The given type, else the first type under which ``repo_id`` exists."""
    if type is not None:
        return type
    for candidate in TYPES:
        try:
            client.repo_info(repo_id, type=candidate)
            return candidate
        except NotFound:
            continue
    raise NotFound(
        f"No model, dataset, space or paper named {repo_id!r} that you may read.", code="RepoNotFound"
    )


def comment(
    repo_id: str,
    text: str,
    *,
    path: str | None = None,
    cell: str | None = None,
    run: str | None = None,
    commit: str | None = None,
    discussion: int | None = None,
    title: str | None = None,
    type: str | None = None,
) -> dict[str, Any]:
    """Comment on a repo, optionally anchored to a file, a notebook cell or an evaluation run.

    Without ``discussion`` a new discussion is opened; the comment shows in
    ``HfApi.get_discussion_details`` too. Returns ``{"discussion": num, "comment": id}``.

    >>> wb.comment("admin/tiny-classifier", "Why 3 epochs?", path="train.ipynb", cell="c3")  # doctest: +SKIP
    {'discussion': 4, 'comment': '65f0...'}
    """
    client = _client()
    return client.comment(
        repo_id,
        text,
        type=_repo_type(client, repo_id, type),
        discussion=discussion,
        title=title,
        path=path,
        cell=cell,
        commit=commit,
        run=run,
    )


@dataclass
class Discussions:
    """A repo's discussions: a table in the notebook, ``.df`` for a DataFrame, ``.items``."""

    repo_id: str
    items: list[dict[str, Any]]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Any:
        return iter(self.items)

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "num": d["num"],
                "title": d["title"],
                "status": d["status"],
                "kind": "pull request" if d["isPullRequest"] else "discussion",
                "author": (d.get("author") or {}).get("name"),
                "created": d["createdAt"],
            }
            for d in self.items
        ]

    @property
    def df(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.rows(), columns=["num", "title", "status", "kind", "author", "created"])

    def __repr__(self) -> str:
        lines = [f"{len(self.items)} discussions on {self.repo_id}"]
        lines += [
            f"  #{r['num']:<4} {r['status']:<7} {r['kind']:<13} {r['title']} ({r['author']})"
            for r in self.rows()
        ]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{h}</th>" for h in ("#", "title", "status", "kind", "author", "created"))
        body = "".join(
            "<tr>"
            + "".join(
                f"<td>{escape(str(r[k]))}</td>"
                for k in ("num", "title", "status", "kind", "author", "created")
            )
            + "</tr>"
            for r in self.rows()
        )
        return (
            f"<div><b>{len(self.items)} discussions on {escape(self.repo_id)}</b>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
        )


def discussions(
    repo_id: str,
    *,
    status: str = "all",
    kind: str = "all",
    author: str | None = None,
    type: str | None = None,
) -> Discussions:
    """The discussions and pull requests of a repo, newest first.

    >>> wb.discussions("admin/iris-mini", status="open")        # doctest: +SKIP
    2 discussions on admin/iris-mini ...
    """
    client = _client()
    items = client.discussions(
        repo_id, type=_repo_type(client, repo_id, type), status=status, kind=kind, author=author
    )
    return Discussions(repo_id, items)


@dataclass
class Inbox:
    """Notifications: mentions, comments on repos you own or watch, PR status changes, access
    requests to your gated repos and the decisions on yours."""

    items: list[dict[str, Any]]
    unread: int

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Any:
        return iter(self.items)

    def _line(self, n: dict[str, Any]) -> str:
        where = n["repo"]["name"] + (f" #{n['discussion']}" if n.get("discussion") else "")
        return f"{n['kind']:<10} {where} by {n['actor']}: {n.get('title') or n.get('detail') or ''}"

    @property
    def df(self) -> Any:
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "id": n["id"],
                    "kind": n["kind"],
                    "repo": n["repo"]["name"],
                    "discussion": n.get("discussion"),
                    "title": n.get("title"),
                    "actor": n["actor"],
                    "created": n["createdAt"],
                    "read": n["read"],
                }
                for n in self.items
            ],
            columns=["id", "kind", "repo", "discussion", "title", "actor", "created", "read"],
        )

    def mark_read(self) -> int:
        """Mark the listed notifications read."""
        from workbench.client import collab

        return collab.mark_read(_client(), [n["id"] for n in self.items])

    def __repr__(self) -> str:
        return "\n".join([f"{self.unread} unread notifications", *(self._line(n) for n in self.items)])

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{escape(self._line(n))}</li>" for n in self.items)
        return f"<div><b>{self.unread} unread notifications</b><ul>{items}</ul></div>"


def inbox(*, all: bool = False) -> Inbox:
    """Your unread notifications (``all=True``: read ones too), newest first."""
    out = _client().inbox(all=all)
    return Inbox(out["notifications"], out["unread"])


def like(repo_id: str, *, unlike: bool = False, type: str | None = None) -> int:
    """Like a repo (``unlike=True`` takes it back); returns its like count."""
    client = _client()
    return int(client.like(repo_id, type=_repo_type(client, repo_id, type), liked=not unlike))


def review(
    repo_id: str,
    num: int,
    message: str = "",
    *,
    approve: bool = False,
    request_changes: bool = False,
    type: str | None = None,
) -> dict[str, Any]:
    """Review pull request ``num``: a comment (the default), ``approve=True`` or
    ``request_changes=True``, with ``message`` as its summary (needed unless approving).
    Returns the review and ``approvals``: where the repo's required approvals stand.

    >>> wb.review("acme/bert-tiny", 3, "Fine.", approve=True)["approvals"]["satisfied"]  # doctest: +SKIP
    True
    """
    if approve and request_changes:
        raise ValueError("approve or request_changes, not both")
    state = "approve" if approve else "request_changes" if request_changes else "comment"
    client = _client()
    kind = _repo_type(client, repo_id, type)
    out = dict(client.review(repo_id, num, state=state, summary=message, type=kind))
    out["approvals"] = client.reviews(repo_id, num, type=kind)["approvals"]
    return out


def request_access(repo_id: str, *, type: str | None = None, **fields: Any) -> dict[str, Any]:
    """Ask for access to a gated repo, answering the form its card asks for (``extra_gated_fields``).

    Fields go by their name or as keywords (``"I agree to the terms"`` as ``i_agree_to_the_terms``).
    An ``auto`` repo accepts at once; a ``manual`` one waits for its owners, whose decision
    reaches your :func:`inbox`. Returns the request: ``status`` is ``pending`` or ``accepted``.

    >>> wb.request_access("acme/llm-7b", company="ACME", i_agree=True)["status"]  # doctest: +SKIP
    'pending'
    """
    client = _client()
    return dict(client.request_access(repo_id, type=_repo_type(client, repo_id, type), **fields))
