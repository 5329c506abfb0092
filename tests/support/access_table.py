"""The access table of ``tests/hub/test_access_matrix.py``: every route of the hub, an example call
for it aimed at a repo (``Target``) as a given caller, and the access it needs.

Add a route here when you add one to the hub; the matrix test fails on routes missing here.
"""

from __future__ import annotations

from typing import Any

from tests.support.access_model import (
    NO_READ,
    OID,
    PLURAL,
    PREFIX,
    ROLE_RANK,
    TYPES,
    WHO,
    Call,
    Route,
    Target,
    commit_body,
    evals_body,
    get,
    job_body,
    js,
    req,
)

__all__ = ["NO_READ", "ROLE_RANK", "ROUTES", "TYPES", "WHO", "Call", "Route", "Target", "evals_body"]

HOOK = "0" * 24  # no webhook has this id
NO_BUCKET = "no-such-bucket"  # no bucket has this name


def _bucket_url(template: str, t: Target) -> str:
    parts = {"{namespace}": t.ns, "{name}": NO_BUCKET, "{prefix:path}": "a", "{scope}": "read"}
    for key, value in {**parts, "{path:path}": "a.bin"}.items():
        template = template.replace(key, value)
    return template


def _webhook(t: Target, who: str) -> dict[str, Any]:
    # .invalid never resolves (RFC 2606): accepted, and every delivery fails quietly
    return {"url": "https://hooks.invalid/matrix", "watched": [{"type": "org", "name": t.ns}]}


COLLECTION = "0" * 24  # no collection (and no item) has this id


REPO = "/api/{repo_type}/{namespace}/{name}"
DISC = REPO + "/discussions/{num}"
ROUTES: dict[tuple[str, str], Route] = {
    # identity and hub-wide
    ("GET", "/api/health"): Route("open", get(lambda t, w: "/api/health")),
    ("GET", "/openapi.json"): Route("open", get(lambda t, w: "/openapi.json")),
    ("GET", "/docs"): Route("open", get(lambda t, w: "/docs")),
    ("GET", "/docs/oauth2-redirect"): Route("open", get(lambda t, w: "/docs/oauth2-redirect")),
    ("GET", "/redoc"): Route("open", get(lambda t, w: "/redoc")),
    ("GET", "/api/whoami-v2"): Route("self", get(lambda t, w: "/api/whoami-v2")),
    ("GET", "/api/agent-harnesses"): Route("open", get(lambda t, w: "/api/agent-harnesses")),
    ("POST", "/api/validate-yaml"): Route(
        "open",
        req(
            "POST",
            lambda t, w: "/api/validate-yaml",
            js(lambda t, w: {"content": "---\na: 1\n---\n", "repoType": "model"}),
        ),
    ),
    # lists and search (check 4)
    ("GET", "/api/{repo_type}"): Route(
        "list",
        get(lambda t, w: f"/api/{PLURAL[t.type]}", params=lambda t, w: {"author": t.ns, "full": "true"}),
    ),
    ("GET", "/api/search"): Route("list", get(lambda t, w: "/api/search", params=lambda t, w: {"q": t.word})),
    ("GET", "/api/papers/search"): Route(
        "list", get(lambda t, w: "/api/papers/search", params=lambda t, w: {"q": t.word}), types=("paper",)
    ),
    ("GET", "/api/evals"): Route(
        "list", get(lambda t, w: "/api/evals", params=lambda t, w: {"model": t.id}), types=("model",)
    ),
    ("GET", "/api/users/{user}/likes"): Route("list", get(lambda t, w: f"/api/users/{ADMIN[0]}/likes")),
    ("GET", "/api/notifications"): Route("self", get(lambda t, w: "/api/notifications")),
    # the pending requests of the repos the caller decides: filtered, never refused
    ("GET", "/api/access-requests"): Route("list", get(lambda t, w: "/api/access-requests")),
    # marks the caller's own inbox: allowed with a read-scope token, like reading it
    ("POST", "/api/notifications/read"): Route(
        "self", req("POST", lambda t, w: "/api/notifications/read", js(lambda t, w: {"ids": []}))
    ),
    # repos
    ("POST", "/api/repos/create"): Route(
        "create",
        req(
            "POST",
            lambda t, w: "/api/repos/create",
            js(lambda t, w: {"name": f"{t.ns}/new-{t.type}-{w}", "type": t.type, "private": True}),
        ),
        mutates=True,
    ),
    ("DELETE", "/api/repos/delete"): Route(
        "write",  # as on the HF Hub: writers delete, rename, change visibility
        req("DELETE", lambda t, w: "/api/repos/delete", js(lambda t, w: {"name": t.id, "type": t.type})),
        mutates=True,
    ),
    ("POST", "/api/repos/move"): Route(
        "write",  # as on the HF Hub: writers delete, rename, change visibility
        req(
            "POST",
            lambda t, w: "/api/repos/move",
            js(lambda t, w: {"fromRepo": t.id, "toRepo": f"{t.id}-moved", "type": t.type}),
        ),
        mutates=True,
    ),
    ("PUT", REPO + "/settings"): Route(
        "write",  # as on the HF Hub: writers delete, rename, change visibility
        req("PUT", lambda t, w: f"{t.api}/settings", js(lambda t, w: {"private": True})),
        mutates=True,
    ),
    ("GET", REPO): Route("read", get(lambda t, w: t.api)),
    ("GET", REPO + "/revision/{revision:path}"): Route("read", get(lambda t, w: f"{t.api}/revision/feature")),
    # gated repos: the matrix repos are not gated, so allowed callers get 400 RepoNotGated
    # (test_gated_files_by_role below gates one); writers list and decide requests
    ("GET", REPO + "/user-access-request/{status}"): Route(
        "write", get(lambda t, w: f"{t.api}/user-access-request/pending"), strict=False
    ),
    ("POST", REPO + "/user-access-request/handle"): Route(
        "write",
        req(
            "POST",
            lambda t, w: f"{t.api}/user-access-request/handle",
            js(lambda t, w: {"user": EXTRA[0], "status": "accepted"}),
        ),
        mutates=True,
        strict=False,
    ),
    ("POST", REPO + "/user-access-request/grant"): Route(
        "write",
        req("POST", lambda t, w: f"{t.api}/user-access-request/grant", js(lambda t, w: {"user": EXTRA[0]})),
        mutates=True,
        strict=False,
    ),
    # refs and history
    ("GET", REPO + "/refs"): Route(
        "read", get(lambda t, w: f"{t.api}/refs", params=lambda t, w: {"include_prs": 1})
    ),
    ("GET", REPO + "/commits/{revision:path}"): Route("read", get(lambda t, w: f"{t.api}/commits/main")),
    ("GET", REPO + "/compare/{base}/{head}"): Route("read", get(lambda t, w: f"{t.api}/compare/v1/main")),
    ("POST", REPO + "/branch/{branch:path}"): Route(
        "write", req("POST", lambda t, w: f"{t.api}/branch/b-{w}", js(lambda t, w: {})), mutates=True
    ),
    ("DELETE", REPO + "/branch/{branch:path}"): Route(
        "write", req("DELETE", lambda t, w: f"{t.api}/branch/del-{w}"), mutates=True
    ),
    ("POST", REPO + "/tag/{revision:path}"): Route(
        "write",
        req("POST", lambda t, w: f"{t.api}/tag/main", js(lambda t, w: {"tag": f"t-{w}"})),
        mutates=True,
    ),
    ("DELETE", REPO + "/tag/{tag:path}"): Route(
        "write", req("DELETE", lambda t, w: f"{t.api}/tag/deltag-{w}"), mutates=True
    ),
    # history rewrites: "feature" is at main's head, so a squash drops nothing the others need
    ("POST", REPO + "/super-squash/{branch:path}"): Route(
        "write",
        req("POST", lambda t, w: f"{t.api}/super-squash/feature", js(lambda t, w: {"message": "sq"})),
        mutates=True,
    ),
    ("GET", REPO + "/lfs-files"): Route("read", get(lambda t, w: f"{t.api}/lfs-files")),
    # allowed callers get past the access checks to the refusal of a purge that keeps history
    ("POST", REPO + "/lfs-files/batch"): Route(
        "write",
        req(
            "POST",
            lambda t, w: f"{t.api}/lfs-files/batch",
            js(lambda t, w: {"deletions": {"sha": ["0" * 64], "rewriteHistory": False}}),
        ),
        mutates=True,
        ok=(400,),
    ),
    # a cross-repo copy: read the source, write the target (here the same repo, no files)
    ("POST", "/api/{plural}/{namespace}/{name}/lfs-files/duplicate"): Route(
        "write",
        req(
            "POST",
            lambda t, w: f"{t.api}/lfs-files/duplicate",
            js(lambda t, w: {"target": {"type": t.type, "name": t.id}, "files": []}),
        ),
        mutates=True,
        ok=(200,),
    ),
    # files and uploads
    ("GET", REPO + "/tree/{revision}"): Route("read", get(lambda t, w: f"{t.api}/tree/main")),
    ("GET", REPO + "/tree/{revision}/{path:path}"): Route("read", get(lambda t, w: f"{t.api}/tree/main/sub")),
    ("POST", REPO + "/paths-info/{revision}"): Route(
        "read",
        req("POST", lambda t, w: f"{t.api}/paths-info/main", js(lambda t, w: {"paths": ["secret.txt"]})),
    ),
    ("POST", REPO + "/preupload/{revision}"): Route(
        "write",
        req(
            "POST",
            lambda t, w: f"{t.api}/preupload/main",
            js(lambda t, w: {"files": [{"path": "a.txt", "size": 1, "sample": "YQ=="}]}),
        ),
        mutates=True,
    ),
    ("POST", REPO + "/commit/{revision}"): Route(
        "write",
        req("POST", lambda t, w: f"{t.api}/commit/main", lambda t, w: commit_body(f"by-{w}.txt")),
        mutates=True,
    ),
    ("PUT", "/api/lfs/upload/{oid}"): Route(
        "signed",
        req("PUT", lambda t, w: f"/api/lfs/upload/{OID}", lambda t, w: {"content": b"x"}),
        mutates=True,
    ),
    ("PUT", "/api/lfs/part/{oid}/{part}"): Route(
        "signed",
        req("PUT", lambda t, w: f"/api/lfs/part/{OID}/1", lambda t, w: {"content": b"x"}),
        mutates=True,
    ),
    ("POST", "/api/lfs/complete/{oid}"): Route(
        "signed",
        req("POST", lambda t, w: f"/api/lfs/complete/{OID}", js(lambda t, w: {"oid": OID, "parts": []})),
        mutates=True,
    ),
    ("POST", "/api/lfs/verify"): Route(
        "signed",
        req("POST", lambda t, w: "/api/lfs/verify", js(lambda t, w: {"oid": OID, "size": 1})),
        mutates=True,
    ),
    # Xet: the token endpoint checks the repo; the CAS takes only the Xet tokens it hands out
    ("GET", "/api/{plural}/{namespace}/{name}/xet-{scope}-token/{revision:path}"): Route(
        "read", get(lambda t, w: f"{t.api}/xet-read-token/main")
    ),
    ("GET", "/v1/chunks/{prefix}/{chunk_hash}"): Route(
        "signed", get(lambda t, w: f"/v1/chunks/default/{OID}"), types=("model",)
    ),
    ("GET", "/v1/reconstructions/{file_id}"): Route(
        "signed", get(lambda t, w: f"/v1/reconstructions/{OID}"), types=("model",)
    ),
    ("GET", "/v1/xorb-data/{xorb_hash}"): Route(
        "signed",
        get(lambda t, w: f"/v1/xorb-data/{OID}", params=lambda t, w: {"expires": 1, "sig": "x"}),
        types=("model",),
    ),
    ("POST", "/v1/xorbs/{prefix}/{xorb_hash}"): Route(
        "signed",
        req("POST", lambda t, w: f"/v1/xorbs/default/{OID}", lambda t, w: {"content": b"x"}),
        types=("model",),
        mutates=True,
    ),
    ("POST", "/v1/shards"): Route(
        "signed",
        req("POST", lambda t, w: "/v1/shards", lambda t, w: {"content": b"x"}),
        types=("model",),
        mutates=True,
    ),
    # hf_xet's transfer statistics: accepted from anyone and dropped, nothing is stored
    ("POST", "/v1/telemetry"): Route(
        "open", req("POST", lambda t, w: "/v1/telemetry", js(lambda t, w: {})), ok=(204,)
    ),
    # discussions, comments, likes, watches
    ("GET", REPO + "/discussions"): Route("read", get(lambda t, w: f"{t.api}/discussions")),
    ("POST", REPO + "/discussions"): Route(
        "participate",
        req(
            "POST",
            lambda t, w: f"{t.api}/discussions",
            js(lambda t, w: {"title": f"by {w}", "description": "hello", "pullRequest": False}),
        ),
        mutates=True,
    ),
    ("GET", DISC): Route(
        "read", get(lambda t, w: f"{t.api}/discussions/{t.pr}", params=lambda t, w: {"diff": 1})
    ),
    ("POST", DISC + "/comment"): Route(
        "participate",
        req(
            "POST",
            lambda t, w: f"{t.api}/discussions/{t.disc}/comment",
            js(lambda t, w: {"comment": f"from {w}"}),
        ),
        mutates=True,
    ),
    ("POST", DISC + "/comment/{comment_id}/edit"): Route(
        "author",
        req(
            "POST",
            lambda t, w: f"{t.api}/discussions/{t.disc}/comment/{t.comment}/edit",
            js(lambda t, w: {"content": f"edited by {w}"}),
        ),
        mutates=True,
    ),
    ("POST", DISC + "/comment/{comment_id}/hide"): Route(
        "write",
        req("POST", lambda t, w: f"{t.api}/discussions/{t.disc}/comment/{t.comment}/hide"),
        mutates=True,
        strict=False,
    ),
    ("POST", DISC + "/title"): Route(
        "write",
        req(
            "POST",
            lambda t, w: f"{t.api}/discussions/{t.disc}/title",
            js(lambda t, w: {"title": f"renamed by {w}"}),
        ),
        mutates=True,
    ),
    ("POST", DISC + "/status"): Route(
        "write",
        req(
            "POST",
            lambda t, w: f"{t.api}/discussions/{t.disc}/status",
            js(lambda t, w: {"status": "closed" if w == "writer" else "open"}),
        ),
        mutates=True,
    ),
    ("POST", DISC + "/merge"): Route(
        "write",
        req("POST", lambda t, w: f"{t.api}/discussions/{t.pr}/merge", js(lambda t, w: {})),
        mutates=True,
        strict=False,
    ),
    ("POST", DISC + "/lock"): Route(
        "write",
        req("POST", lambda t, w: f"{t.api}/discussions/{t.disc}/lock", js(lambda t, w: {"locked": False})),
        mutates=True,
    ),
    # reviews of pull requests (PR #2 may be merged by then: strict=False)
    ("GET", DISC + "/reviews"): Route("read", get(lambda t, w: f"{t.api}/discussions/{t.pr}/reviews")),
    ("POST", DISC + "/reviews"): Route(
        "participate",
        req(
            "POST",
            lambda t, w: f"{t.api}/discussions/{t.pr}/reviews",
            js(lambda t, w: {"state": "comment", "summary": f"by {w}"}),
        ),
        mutates=True,
        strict=False,
    ),
    ("POST", DISC + "/reviews/request"): Route(
        "write",
        req(
            "POST",
            lambda t, w: f"{t.api}/discussions/{t.pr}/reviews/request",
            js(lambda t, w: {"reviewers": ["no-such-user"]}),
        ),
        mutates=True,
        strict=False,
    ),
    ("GET", DISC + "/review-comments"): Route(
        "read", get(lambda t, w: f"{t.api}/discussions/{t.pr}/review-comments")
    ),
    ("POST", DISC + "/review-comments"): Route(
        "participate",
        req(
            "POST",
            lambda t, w: f"{t.api}/discussions/{t.pr}/review-comments",
            js(lambda t, w: {"inReplyTo": "none", "body": f"by {w}"}),
        ),
        mutates=True,
        strict=False,
    ),
    ("POST", DISC + "/review-comments/{comment_id}/resolve"): Route(
        "participate",
        req(
            "POST",
            lambda t, w: f"{t.api}/discussions/{t.pr}/review-comments/none/resolve",
            js(lambda t, w: {"resolved": True}),
        ),
        mutates=True,
        strict=False,
    ),
    ("GET", REPO + "/comments"): Route(
        "read", get(lambda t, w: f"{t.api}/comments", params=lambda t, w: {"path": "secret.txt"})
    ),
    ("POST", REPO + "/like"): Route("participate", req("POST", lambda t, w: f"{t.api}/like"), mutates=True),
    ("DELETE", REPO + "/like"): Route(
        "participate", req("DELETE", lambda t, w: f"{t.api}/like"), mutates=True
    ),
    ("GET", REPO + "/likers"): Route("read", get(lambda t, w: f"{t.api}/likers")),
    ("GET", REPO + "/interest"): Route("read", get(lambda t, w: f"{t.api}/interest")),
    ("GET", REPO + "/auth-check"): Route("read", get(lambda t, w: f"{t.api}/auth-check")),
    # a read-scope token may not write: refused as a mutation is
    ("GET", REPO + "/auth-check/write"): Route(
        "write", get(lambda t, w: f"{t.api}/auth-check/write"), mutates=True
    ),
    ("POST", REPO + "/watch"): Route("participate", req("POST", lambda t, w: f"{t.api}/watch"), mutates=True),
    ("DELETE", REPO + "/watch"): Route(
        "participate", req("DELETE", lambda t, w: f"{t.api}/watch"), mutates=True
    ),
    ("GET", "/api/comment-policy/{namespace}"): Route(
        "open", get(lambda t, w: f"/api/comment-policy/{t.ns}")
    ),
    ("PUT", "/api/comment-policy/{namespace}"): Route(
        "orgadmin",
        req("PUT", lambda t, w: f"/api/comment-policy/{t.ns}", js(lambda t, w: {"policy": "readers"})),
        mutates=True,
    ),
    # papers
    ("GET", "/api/papers/{paper_id}"): Route(
        "read", get(lambda t, w: f"/api/papers/{t.arxiv}"), types=("paper",)
    ),
    ("GET", "/api/papers/{namespace}/{name}"): Route("read", get(lambda t, w: t.api), types=("paper",)),
    ("GET", "/papers/{paper_id}.md"): Route(
        "read", get(lambda t, w: f"/papers/{t.arxiv}.md"), types=("paper",)
    ),
    ("GET", "/papers/{namespace}/{name}.md"): Route(
        "read", get(lambda t, w: f"/papers/{t.id}.md"), types=("paper",)
    ),
    ("GET", "/api/papers/{namespace}/{name}/bibtex"): Route(
        "read", get(lambda t, w: f"{t.api}/bibtex"), types=("paper",)
    ),
    ("GET", REPO + "/papers"): Route("read", get(lambda t, w: f"{t.api}/papers")),
    # evaluation records and leaderboards
    ("POST", "/api/evals"): Route(
        "participate",
        req("POST", lambda t, w: "/api/evals", js(evals_body)),
        types=("model",),
        mutates=True,
        strict=False,
    ),
    ("GET", "/api/evals/{run_id}"): Route("read", get(lambda t, w: f"/api/evals/{t.run}"), types=("model",)),
    ("GET", "/api/evals/{run_id}/notebook"): Route(
        "read", get(lambda t, w: f"/api/evals/{t.run}/notebook"), types=("model",), strict=False
    ),
    ("POST", "/api/evals/{run_id}/reproduction"): Route(
        "author",
        req(
            "POST", lambda t, w: f"/api/evals/{t.run}/reproduction", js(lambda t, w: {"status": "reproduced"})
        ),
        types=("model",),
        mutates=True,
        strict=False,
    ),
    ("GET", "/api/leaderboards/{namespace}/{name}"): Route(
        "read",
        get(lambda t, w: f"/api/leaderboards/{t.id}", params=lambda t, w: {"metric": "accuracy"}),
        types=("dataset",),
    ),
    # collections are not repos: who may read and change one is tests/hub/test_collections.py.
    # Here: listing, creating a private one under the org, and a slug no collection has (404
    # to everyone, the answer a private collection gives whoever may not read it).
    ("GET", "/api/collections"): Route(
        "list", get(lambda t, w: "/api/collections", params=lambda t, w: {"owner": t.ns})
    ),
    ("POST", "/api/collections"): Route(
        "create",
        req(
            "POST",
            lambda t, w: "/api/collections",
            js(lambda t, w: {"title": f"Matrix {w}", "namespace": t.ns, "private": True}),
        ),
        mutates=True,
    ),
    **{
        (method, "/api/collections/{namespace}/{slug}" + rest): Route(
            "open",
            req(
                method,
                lambda t, w, rest=rest: (
                    f"/api/collections/{t.ns}/none-{COLLECTION}" + rest.replace("{item_id}", COLLECTION)
                ),
                body,
            ),
            mutates=method != "GET",
            ok=(404,),
        )
        for method, rest, body in (
            ("GET", "", None),
            ("PATCH", "", js(lambda t, w: {"title": "x"})),
            ("DELETE", "", None),
            ("POST", "/items", js(lambda t, w: {"item": {"id": t.id, "type": t.type}})),
            ("PATCH", "/items/{item_id}", js(lambda t, w: {"note": "x"})),
            ("DELETE", "/items/{item_id}", None),
        )
    },
    # storage buckets are not repos: who may read and change one is tests/hub/test_buckets.py.
    # Here: listing a namespace's, creating one under the org, and a bucket that does not exist
    # (the answer a private bucket gives whoever may not read it).
    ("GET", "/api/buckets/{namespace}"): Route("list", get(lambda t, w: f"/api/buckets/{t.ns}")),
    ("POST", "/api/buckets/{namespace}/{name}"): Route(
        "create",
        req(
            "POST",
            lambda t, w: f"/api/buckets/{t.ns}/matrix-{t.type}-{w}",
            js(lambda t, w: {"private": True}),
        ),
        mutates=True,
    ),
    **{
        (method, path): Route(
            "open",
            req(method, lambda t, w, path=path: _bucket_url(path, t), body),
            mutates=method not in ("GET", "HEAD") and not path.endswith("paths-info"),
        )
        for method, path, body in (
            ("GET", "/api/buckets/{namespace}/{name}", None),
            ("DELETE", "/api/buckets/{namespace}/{name}", None),
            ("DELETE", "/api/buckets/{name}", None),
            ("PUT", "/api/buckets/{namespace}/{name}/settings", js(lambda t, w: {"private": False})),
            ("GET", "/api/buckets/{namespace}/{name}/tree", None),
            ("GET", "/api/buckets/{namespace}/{name}/tree/{prefix:path}", None),
            ("GET", "/api/buckets/{namespace}/{name}/xet-{scope}-token", None),
            ("POST", "/api/buckets/{namespace}/{name}/batch", None),
            ("POST", "/api/buckets/{namespace}/{name}/paths-info", js(lambda t, w: {"paths": ["a.bin"]})),
            ("GET", "/buckets/{namespace}/{name}/resolve/{path:path}", None),
            ("HEAD", "/buckets/{namespace}/{name}/resolve/{path:path}", None),
        )
    },
    # operations: probes and metrics name no repo, user or bucket
    ("GET", "/health"): Route("open", get(lambda t, w: "/health")),
    ("GET", "/ready"): Route("open", get(lambda t, w: "/ready")),
    ("GET", "/metrics"): Route("open", get(lambda t, w: "/metrics")),
    # storage per repo: one's own, an organization's for its members
    ("GET", "/api/settings/repositories"): Route("self", get(lambda t, w: "/api/settings/repositories")),
    ("GET", "/api/organizations/{namespace}/settings/repositories"): Route(
        "member", get(lambda t, w: f"/api/organizations/{t.ns}/settings/repositories")
    ),
    # organizations, tokens, audit
    ("GET", "/api/organizations"): Route("list", get(lambda t, w: "/api/organizations")),
    ("POST", "/api/organizations"): Route(
        "self",
        req("POST", lambda t, w: "/api/organizations", js(lambda t, w: {"name": f"{t.ns}-{w}"})),
        mutates=True,
    ),
    ("GET", "/api/organizations/{org}/members"): Route(
        "member", get(lambda t, w: f"/api/organizations/{t.ns}/members")
    ),
    ("PUT", "/api/organizations/{org}/members/{user}"): Route(
        "orgadmin",
        req(
            "PUT",
            lambda t, w: f"/api/organizations/{t.ns}/members/{EXTRA[0]}",
            js(lambda t, w: {"role": "read"}),
        ),
        mutates=True,
    ),
    ("DELETE", "/api/organizations/{org}/members/{user}"): Route(
        "orgadmin",
        req("DELETE", lambda t, w: f"/api/organizations/{t.ns}/members/{EXTRA[0]}"),
        mutates=True,
        strict=False,
    ),
    ("GET", "/api/tokens"): Route("self", get(lambda t, w: "/api/tokens")),
    ("POST", "/api/tokens"): Route(
        "self",
        req("POST", lambda t, w: "/api/tokens", js(lambda t, w: {"name": f"m-{w}", "scope": "read"})),
        mutates=True,
    ),
    ("DELETE", "/api/tokens/{token_id}"): Route(
        "self", req("DELETE", lambda t, w: f"/api/tokens/{VICTIM[0]}"), mutates=True, strict=False
    ),
    ("GET", "/api/audit"): Route(
        "orgadmin", get(lambda t, w: "/api/audit", params=lambda t, w: {"namespace": t.ns})
    ),
    # users and everyone's tokens: hub administrators only
    ("POST", "/api/admin/users"): Route(
        "hubadmin",
        req("POST", lambda t, w: "/api/admin/users", js(lambda t, w: {"name": f"{t.ns}-u-{w}"})),
        mutates=True,
    ),
    ("PATCH", "/api/admin/users/{name}"): Route(
        "hubadmin",
        req("PATCH", lambda t, w: f"/api/admin/users/{EXTRA[0]}", js(lambda t, w: {"disabled": True})),
        mutates=True,
    ),
    ("DELETE", "/api/admin/users/{name}"): Route(
        "hubadmin", req("DELETE", lambda t, w: f"/api/admin/users/{EXTRA[0]}"), mutates=True
    ),
    ("GET", "/api/admin/tokens"): Route("hubadmin", get(lambda t, w: "/api/admin/tokens")),
    ("DELETE", "/api/admin/tokens/{token_id}"): Route(
        "hubadmin", req("DELETE", lambda t, w: f"/api/admin/tokens/{VICTIM[0]}"), mutates=True
    ),
    # runners: registered and managed by hub administrators only
    ("POST", "/api/runners"): Route(
        "hubadmin",
        req("POST", lambda t, w: "/api/runners", js(lambda t, w: {"name": f"r-{w}"})),
        mutates=True,
    ),
    ("GET", "/api/runners"): Route("hubadmin", get(lambda t, w: "/api/runners")),
    # how many runners are online: a count any signed-in user may read (no names, no tokens)
    ("GET", "/api/runners/online"): Route("self", get(lambda t, w: "/api/runners/online")),
    ("POST", "/api/runners/{name}/pause"): Route(
        "hubadmin", req("POST", lambda t, w: "/api/runners/nobody/pause"), mutates=True
    ),
    ("POST", "/api/runners/{name}/resume"): Route(
        "hubadmin", req("POST", lambda t, w: "/api/runners/nobody/resume"), mutates=True
    ),
    ("DELETE", "/api/runners/{name}"): Route(
        "hubadmin", req("DELETE", lambda t, w: "/api/runners/nobody"), mutates=True
    ),
    # a runner's own endpoints: runner tokens only, which none of the matrix's callers holds
    ("POST", "/api/runner/lease"): Route(
        "runner", req("POST", lambda t, w: "/api/runner/lease", js(lambda t, w: {"wait": 0})), mutates=True
    ),
    **{
        ("POST", f"/api/runner/jobs/{{job_id}}/{step}"): Route(
            "runner",
            req("POST", lambda t, w, step=step: f"/api/runner/jobs/1/{step}", js(lambda t, w: {})),
            mutates=True,
        )
        for step in ("heartbeat", "events", "complete", "fail", "release")
    },
    # evaluation jobs: each user's own (someone else's, or a missing one, is a 404)
    # (a private model the caller cannot read is a 404, as a missing job is)
    ("POST", "/api/eval-jobs"): Route(
        "self",
        req("POST", lambda t, w: "/api/eval-jobs", js(job_body)),
        types=("model",),
        mutates=True,
        ok=(201, 404),
    ),
    ("GET", "/api/eval-jobs"): Route("list", get(lambda t, w: "/api/eval-jobs")),
    ("GET", "/api/eval-jobs/{job_id}"): Route("self", get(lambda t, w: "/api/eval-jobs/999999"), ok=(404,)),
    ("POST", "/api/eval-jobs/{job_id}/cancel"): Route(
        "self", req("POST", lambda t, w: "/api/eval-jobs/999999/cancel"), mutates=True, ok=(404,)
    ),
    # webhooks: each user's own; someone else's (or a missing one) is a 404
    ("GET", "/api/settings/webhooks"): Route("self", get(lambda t, w: "/api/settings/webhooks")),
    ("POST", "/api/settings/webhooks"): Route(
        "self", req("POST", lambda t, w: "/api/settings/webhooks", js(_webhook)), mutates=True
    ),
    ("GET", "/api/settings/webhooks/{webhook_id}"): Route(
        "self", get(lambda t, w: f"/api/settings/webhooks/{HOOK}"), ok=(404,)
    ),
    ("POST", "/api/settings/webhooks/{webhook_id}"): Route(
        "self",
        req("POST", lambda t, w: f"/api/settings/webhooks/{HOOK}", js(_webhook)),
        mutates=True,
        ok=(404,),
    ),
    ("DELETE", "/api/settings/webhooks/{webhook_id}"): Route(
        "self", req("DELETE", lambda t, w: f"/api/settings/webhooks/{HOOK}"), mutates=True, ok=(404,)
    ),
    ("POST", "/api/settings/webhooks/{webhook_id}/enable"): Route(
        "self", req("POST", lambda t, w: f"/api/settings/webhooks/{HOOK}/enable"), mutates=True, ok=(404,)
    ),
    ("POST", "/api/settings/webhooks/{webhook_id}/disable"): Route(
        "self", req("POST", lambda t, w: f"/api/settings/webhooks/{HOOK}/disable"), mutates=True, ok=(404,)
    ),
    ("GET", "/api/settings/webhooks/{webhook_id}/deliveries"): Route(
        "self", get(lambda t, w: f"/api/settings/webhooks/{HOOK}/deliveries"), ok=(404,)
    ),
    ("POST", "/api/settings/webhooks/{webhook_id}/deliveries/{delivery_id}/replay"): Route(
        "self",
        req("POST", lambda t, w: f"/api/settings/webhooks/{HOOK}/deliveries/{HOOK}/replay"),
        mutates=True,
        ok=(404,),
    ),
}
for _t in TYPES:  # per-type web routes: /resolve and the git-LFS batch endpoint
    _p = "/" + PREFIX[_t]
    for _m in ("GET", "HEAD"):
        ROUTES[(_m, _p + "{namespace}/{name}/resolve/{revision}/{path:path}")] = Route(
            "read", (lambda m: lambda t, w: (m, f"{t.web}/resolve/main/secret.txt", {}))(_m), types=(_t,)
        )
    ROUTES[("POST", _p + "{namespace}/{name}/ask-access")] = Route(
        "participate",
        req("POST", lambda t, w: f"{t.web}/ask-access", js(lambda t, w: {})),
        types=(_t,),
        mutates=True,
        strict=False,
    )
    ROUTES[("POST", _p + "{namespace}/{name_git}/info/lfs/objects/batch")] = Route(
        "write",
        req(
            "POST",
            lambda t, w: f"{t.web}.git/info/lfs/objects/batch",
            js(lambda t, w: {"operation": "upload", "objects": [{"oid": OID, "size": 16}]}),
        ),
        types=(_t,),
        mutates=True,
    )
for _v in (
    "status",
    "is-valid",
    "splits",
    "first-rows",
    "rows",
    "search",
    "filter",
    "statistics",
    "size",
    "parquet",
):
    ROUTES[("GET", f"/api/datasets/{{namespace}}/{{name}}/viewer/{_v}")] = Route(
        "read",
        (
            lambda v: get(
                lambda t, w: f"{t.api}/viewer/{v}",
                params=lambda t, w: {"config": "default", "split": "train", "query": "a", "where": "a = 1"},
            )
        )(_v),
        types=("dataset",),
        strict=False,
    )
ROUTES[("POST", "/api/datasets/{namespace}/{name}/viewer/refresh")] = Route(
    "write",
    req("POST", lambda t, w: f"{t.api}/viewer/refresh"),
    types=("dataset",),
    mutates=True,
    strict=False,
)
ROUTES[("GET", "/api/datasets/{namespace}/{name}/viewer/assets/{commit}/{config}/{split}/{row}/{column}")] = (
    Route(
        "read",
        get(lambda t, w: f"{t.api}/viewer/assets/{'0' * 40}/default/train/0/a"),
        types=("dataset",),
        strict=False,
    )
)
ROUTES[("GET", "/api/datasets/{namespace}/{name}/eval-suite")] = Route(
    "read", get(lambda t, w: f"{t.api}/eval-suite"), types=("dataset",)
)
ADMIN: list[str] = []  # filled by the fixture: names the table's examples need
EXTRA: list[str] = []
VICTIM: list[int] = []
