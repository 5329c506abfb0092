"""Every route of the hub, as every kind of caller, against private repos of an organization.

``ROUTES`` (``tests/support/access_table.py``) maps each route of ``create_app`` to an example
call and the access it needs; a route missing from the table fails the test, so new routes
must be classified there. Callers:
anonymous, an outsider, the org's reader, writer and admin, and the admin with a read-scope
token. Checks, in this order:

1. those who may not read the repo get exactly what a missing repo of the same name length
   gets (status, headers and body, names aside), never a 2xx, never the repo's data;
2. read-scope tokens, readers (on writes) and writers (on admin actions) are refused with 403;
3. none of those refused calls changed anything (repos, refs, discussions, members, tokens,
   audit log);
4. lists, search, paper search, evaluation lists and likes never show the private repos to
   those who may not read them (and do show them to a reader: the check can fail);
5. the allowed callers succeed;
6. tokens that no longer work (expired, or of a disabled user) get 401 with the code that
   says why on every route, and a token limited to other repos is, on these private repos,
   exactly an outsider: the answers of a missing repo, and nothing changed.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest

from tests.support.access_table import (
    ADMIN,
    EXTRA,
    NO_READ,
    ROLE_RANK,
    ROUTES,
    TYPES,
    VICTIM,
    WHO,
    Call,
    Route,
    Target,
    evals_body,
)
from tests.support.pdf import tiny_pdf
from tests.support.team import Team, make_team
from workbench.client import HubClient

# -- setup: one org, private repos of every type, with branches, tags, discussions, a run ----


@dataclass
class World:
    team: Team
    real: dict[str, Target]
    twin: dict[str, Target]
    secrets: list[str]  # strings that must never reach those who may not read
    clients: dict[str, httpx.Client]


def _twin(t: Target, arxiv: str) -> Target:
    return replace(t, name="z" * len(t.name), arxiv=arxiv)


@pytest.fixture(scope="module")
def world(hub) -> Any:  # type: ignore[no-untyped-def]
    team = make_team(hub, prefix="matrix")
    tag = team.org.rsplit("-", 1)[-1]
    ADMIN[:] = [team.users["admin"]]
    with HubClient(hub.url, hub.token, progress=False) as root:
        root.request("POST", "/api/repos/create", json={"name": f"extra-{tag}", "private": False})
    from workbench.config import HubSettings
    from workbench.store.accounts import create_token, create_user, get_account
    from workbench.store.store import Store

    store = Store.open(HubSettings(data_dir=hub.data, write_user_config=False))
    lapsed: dict[str, str] = {}  # expired, disabled, limited: tokens of org admins
    try:
        with store.write() as s:
            create_user(s, f"extra-{tag}")
            admin_row = get_account(s, team.users["admin"])
            assert admin_row is not None
            create_token(s, admin_row, "victim", scope="read")
            lapsed.update(_lapsed_tokens(s, team, tag))
        with store.read() as s:
            from sqlalchemy import select

            from workbench.store import models as m

            VICTIM[:] = [
                s.scalar(select(m.Token.id).where(m.Token.name == "victim", m.Token.user_id == admin_row.id))
            ]
    finally:
        store.close()
    EXTRA[:] = [f"extra-{tag}"]
    clients = {w: team.client(hub, w) for w in WHO if w != "admin_ro"}
    clients["admin_ro"] = team.client(hub, "admin", read_scope=True)
    for who, token in lapsed.items():
        clients[who] = httpx.Client(
            base_url=hub.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
    admin = clients["admin"]
    arxiv = f"27{secrets.randbelow(100):02d}.{secrets.randbelow(100000):05d}"
    real: dict[str, Target] = {}
    words = []
    with HubClient(hub.url, team.tokens["admin"], progress=False) as hc:
        for t in TYPES:
            target = Target(t, team.org, f"secret-{t}-{tag}", arxiv=arxiv)
            word = f"classified{t}{tag}"
            words.append(word)
            hc.create_repo(target.id, type=t, private=True)
            card = (
                f"---\ntitle: {word}\nauthors: [A]\nabstract: {word}\nidentifiers:\n  arxiv: "
                f"'{arxiv}'\n---\n# {word}\n"
                if t == "paper"
                else f"---\npapers: ['{arxiv}']\ntags: [{word}]\n---\n# {word}\n"
            )
            files: dict[str, Any] = {
                "README.md": card.encode(),
                "secret.txt": word.encode(),
                "sub/x.txt": b"x",
            }
            if t == "dataset":
                files["data.csv"] = b"a,b\n1,2\n"
            if t == "paper":
                files["paper.pdf"] = tiny_pdf(f"pdfword{tag}")
            hc.upload(target.id, files, type=t, message="secret")
            hc.create_tag(target.id, "v1", type=t)
            for ref in ("feature", "del-writer", "del-admin"):
                hc.create_branch(target.id, ref, type=t)
            for ref in ("deltag-writer", "deltag-admin"):
                hc.create_tag(target.id, ref, type=t)
            disc = admin.post(
                f"{target.api}/discussions",
                json={"title": f"talk {word}", "description": word, "pullRequest": False},
            ).json()["num"]
            pr = admin.post(
                f"{target.api}/discussions", json={"title": "pr", "description": word, "pullRequest": True}
            ).json()["num"]
            hc.upload(target.id, {"pr.txt": b"pr"}, type=t, revision=f"refs/pr/{pr}", message="pr")
            details = admin.get(f"{target.api}/discussions/{disc}").json()
            comment = next(e["id"] for e in details["events"] if e["type"] == "comment")
            assert admin.post(f"{target.api}/like").status_code == 200
            sha = admin.get(target.api).json()["sha"]
            real[t] = replace(target, disc=disc, pr=pr, comment=comment, sha=sha, word=word)
            words.append(sha)
    real["model"] = replace(real["model"], ds_sha=real["dataset"].sha)
    run = admin.post("/api/evals", json=evals_body(real["model"], "admin"))
    assert run.status_code == 201, run.text
    real["model"] = replace(real["model"], run=run.json()["id"])
    twin_arxiv = f"26{secrets.randbelow(100):02d}.{secrets.randbelow(100000):05d}"
    twin = {t: _twin(real[t], twin_arxiv) for t in TYPES}
    world = World(team, real, twin, [*words, f"pdfword{tag}", *[r.name for r in real.values()]], clients)
    yield world
    for c in clients.values():
        c.close()


def _lapsed_tokens(s: Any, team: Team, tag: str) -> dict[str, str]:
    """Write tokens of three more admins of the org: one expired, one of a disabled user,
    one limited to another namespace (``extra-TAG``)."""
    from datetime import timedelta

    from workbench.store import models as m
    from workbench.store.access import TokenLimit
    from workbench.store.accounts import create_token, create_user, set_membership
    from workbench.store.orgs import get_org
    from workbench.store.store import utcnow

    org = get_org(s, team.org)
    out = {}
    for who in LAPSED:
        user = create_user(s, f"{who}-{tag}")
        set_membership(s, org, user, "admin")
        limits = (TokenLimit(f"extra-{tag}"),) if who == "limited" else None
        out[who] = create_token(s, user, who, expires_at=utcnow() + timedelta(hours=1), limits=limits)
        if who == "expired":
            s.flush()
            row = s.query(m.Token).filter(m.Token.user_id == user.id).one()
            row.expires_at = utcnow() - timedelta(seconds=1)
        if who == "disabled":
            user.disabled = True
    return out


LAPSED = ("expired", "disabled", "limited")


def _flat(routes: Any) -> Any:
    for r in routes:
        if hasattr(r, "original_router"):
            yield from _flat(r.original_router.routes)
        else:
            yield r


def app_routes() -> set[tuple[str, str]]:
    import tempfile

    from workbench.config import HubSettings
    from workbench.hub.app import create_app

    app = create_app(HubSettings(data_dir=tempfile.mkdtemp(prefix="wb-matrix-"), write_user_config=False))
    out = set()
    for r in _flat(app.routes):
        for method in getattr(r, "methods", None) or ():
            if method == "HEAD" and "GET" in r.methods and not r.path.endswith("{path:path}"):
                continue  # Starlette's automatic HEAD for GET routes
            out.add((method, r.path))
    return out


def test_every_route_is_classified() -> None:
    routes = app_routes()
    missing = sorted(routes - set(ROUTES))
    stale = sorted(set(ROUTES) - routes)
    assert not missing, "routes without an access class in ROUTES (add them):\n" + "\n".join(
        f"  {m} {p}" for m, p in missing
    )
    assert not stale, f"ROUTES lists routes the app no longer has: {stale}"


# -- helpers ---------------------------------------------------------------------------------


def _send(c: httpx.Client, call: Call) -> httpx.Response:
    method, url, kwargs = call
    return c.request(method, url, **kwargs)


def _norm(r: httpx.Response, names: list[str]) -> tuple[Any, ...]:
    def clean(text: str) -> str:
        for n in names:
            text = text.replace(n, "NAME")
        return text

    headers = {
        k: clean(v) for k, v in r.headers.items() if k not in ("date", "content-length", "x-request-id")
    }
    return r.status_code, headers, clean(r.content.decode("utf-8", "replace"))


def snapshot(w: World) -> Any:
    """Everything a refused call could have changed, read by the org admin."""
    c = w.clients["admin"]
    out: dict[str, Any] = {}
    for t, target in w.real.items():
        info = c.get(target.api).json()
        out[t] = (
            info["sha"],
            info["private"],
            info["likes"],
            c.get(f"{target.api}/refs", params={"include_prs": 1}).json(),
            c.get(f"{target.api}/discussions").json(),
            c.get(f"{target.api}/discussions/{target.disc}").json(),
        )
    out["members"] = c.get(f"/api/organizations/{w.team.org}/members").json()
    out["audit"] = c.get("/api/audit", params={"namespace": w.team.org}).json()
    out["tokens"] = {  # but when each was last used: any authenticated call records that
        who: [
            {k: v for k, v in t.items() if k != "lastUsedAt"}
            for t in w.clients[who].get("/api/tokens").json()
        ]
        for who in ("outsider", "reader", "writer", "admin")
    }
    out["orgs"] = c.get("/api/organizations").json()
    return out


def _calls(need: set[str] | None = None) -> list[tuple[tuple[str, str], Route, str]]:
    return [
        (key, route, t)
        for key, route in sorted(ROUTES.items())
        for t in route.types
        if need is None or route.need in need
    ]


def _refused(r: httpx.Response, statuses: tuple[int, ...] = (401, 403)) -> bool:
    return r.status_code in statuses


# -- 1-3: refusals, no leaks, nothing changed ---------------------------------------------------


def test_refusals_leak_nothing_and_change_nothing(world: World) -> None:
    w = world
    before = snapshot(w)
    problems: list[str] = []
    repo_needs = {"read", "write", "admin", "participate", "author"}
    for key, route, t in _calls(repo_needs):
        real, twin = w.real[t], w.twin[t]
        names = [real.name, twin.name, real.arxiv, twin.arxiv]
        for who in NO_READ:
            c = w.clients[who]
            got, missing = _send(c, route.call(real, who)), _send(c, route.call(twin, who))
            where = f"{who} {key[0]} {key[1]} ({t})"
            if got.is_success:
                problems.append(f"{where}: answered {got.status_code} on a private repo")
            if _norm(got, names) != _norm(missing, names):
                problems.append(
                    f"{where}: differs from a missing repo: {got.status_code} "
                    f"{got.text[:200]!r} vs {missing.status_code} {missing.text[:200]!r}"
                )
            leaked = [s for s in w.secrets if s in got.text and s not in (real.name,)]
            if leaked:
                problems.append(f"{where}: body holds {leaked}")
        refused = [("admin_ro", route.mutates)]
        rank = {"write": 2, "admin": 3}.get(route.need, 0)
        refused += [
            (who, ROLE_RANK[who] < rank if route.need != "author" else who != "admin")
            for who in ("reader", "writer", "admin")
        ]  # "author": the admin wrote it
        for who, should in refused:
            if not should:
                continue
            r = _send(w.clients[who], route.call(real, who))
            if r.status_code != 403:
                problems.append(
                    f"{who} {key[0]} {key[1]} ({t}): expected 403, got {r.status_code} {r.text[:200]!r}"
                )
    for key, route, t in _calls({"create", "self", "member", "orgadmin", "hubadmin", "runner", "signed"}):
        target = w.real[t]
        allowed = {
            "create": ("writer", "admin"),
            "self": ("outsider", "reader", "writer", "admin"),
            "member": ("reader", "writer", "admin", "admin_ro"),
            "orgadmin": ("admin",),
            "hubadmin": (),
            "runner": (),
            "signed": (),
        }[route.need]
        for who in WHO:
            if who in allowed or (who == "admin_ro" and "admin" in allowed and not route.mutates):
                continue
            if route.need == "self" and who == "admin_ro" and not route.mutates:
                continue
            r = _send(w.clients[who], route.call(target, who))
            # unsigned transfer URLs: refused, or (verify) told the object is not stored
            expect: tuple[int, ...] = (400, 401, 403, 404) if route.need == "signed" else (401, 403)
            if route.need == "self" and key[1] == "/api/tokens/{token_id}":
                expect = (401, 403, 404)  # someone else's token looks missing
            if not _refused(r, expect):
                problems.append(
                    f"{who} {key[0]} {key[1]} ({t}): expected {expect}, got {r.status_code} {r.text[:200]!r}"
                )
    assert not problems, "\n".join(problems)
    assert snapshot(w) == before, "a refused call changed the hub"


# -- 4: lists and search --------------------------------------------------------------------------


def test_lists_and_search_hide_private_repos(world: World) -> None:
    w = world
    problems = []
    for key, route, t in _calls({"list", "open", "member"}):
        for who in WHO:
            r = _send(w.clients[who], route.call(w.real[t], who))
            if r.status_code >= 500:
                problems.append(f"{who} {key[1]} ({t}): {r.status_code}")
            if who in NO_READ:
                asked = json.dumps(route.call(w.real[t], who), default=str)
                leaked = [s for s in w.secrets if s in r.text and s not in asked]
                if leaked:
                    problems.append(f"{who} {key[0]} {key[1]} ({t}): shows {leaked}")
    assert not problems, "\n".join(problems)
    # the same calls show them to a member: the check above can fail
    reader = w.clients["reader"]
    names = {r["id"] for r in reader.get("/api/models", params={"author": w.team.org}).json()}
    assert w.real["model"].id in names
    assert w.real["paper"].id in {
        p["id"]
        for p in reader.get(
            "/api/papers/search", params={"q": f"pdfword{w.team.org.rsplit('-', 1)[-1]}"}
        ).json()
    }
    assert any(
        r["id"] == w.real["dataset"].id
        for r in reader.get("/api/search", params={"q": w.real["dataset"].name}).json()["results"]
    )
    assert reader.get("/api/evals", params={"model": w.real["model"].id}).json()


# -- 5: allowed callers succeed ---------------------------------------------------------------


def _allowed(need: str) -> tuple[str, ...]:
    return {
        "read": ("reader", "writer", "admin", "admin_ro"),
        "write": ("writer", "admin"),
        "participate": ("reader", "writer", "admin"),
        "author": ("admin",),
        "admin": ("admin",),
    }[need]


def test_allowed_callers_succeed(hub, world: World) -> None:  # type: ignore[no-untyped-def]
    w = world
    problems = []
    for key, route, t in _calls({"read", "write", "participate", "author", "admin"}):
        for who in _allowed(route.need):
            target = w.real[t]
            if key[1] in ("/api/repos/delete", "/api/repos/move"):
                target = replace(target, name=f"{target.name}-{who}-{key[0].lower()}")
                w.clients["admin"].post(
                    "/api/repos/create", json={"name": target.id, "type": t, "private": True}
                ).raise_for_status()
            r = _send(w.clients[who], route.call(target, who))
            fine = (
                r.status_code in route.ok
                if route.strict
                else (
                    r.status_code < 500
                    and r.status_code not in (401, 403)
                    and r.headers.get("X-Error-Code") not in ("RepoNotFound", "Forbidden")
                )
            )
            if not fine:
                problems.append(f"{who} {key[0]} {key[1]} ({t}): {r.status_code} {r.text[:200]!r}")
    # routes that are not about one repo: once each, additions before removals
    allowed = {
        "create": ("writer", "admin"),
        "self": ("outsider", "reader", "writer", "admin"),
        "member": ("reader", "writer", "admin"),
        "orgadmin": ("admin",),
    }
    others = sorted(_calls(set(allowed)), key=lambda c: (c[0][0] == "DELETE", c[0]))
    assert len({key for key, _, _ in others}) >= 10
    for key, route, t in others:
        if t != route.types[0] and key[1] != "/api/repos/create":
            continue
        for who in allowed[route.need]:
            if key[1] == "/api/tokens/{token_id}" and who != "admin":
                continue  # the victim token is the admin's
            r = _send(w.clients[who], route.call(w.real[t], who))
            if r.status_code not in route.ok:
                problems.append(f"{who} {key[0]} {key[1]} ({t}): {r.status_code} {r.text[:200]!r}")
    assert not problems, "\n".join(problems)
    # the private repos stay private after all of that, and the writes landed
    anon = w.clients["anonymous"]
    for t, target in w.real.items():
        assert anon.get(target.api).status_code == 404
        files = {f["rfilename"] for f in w.clients["reader"].get(target.api).json()["siblings"]}
        assert {"by-writer.txt", "by-admin.txt"} <= files, (t, files)


# -- 6: a gated repo: members download, strangers get the gated error, everyone sees it ------


def test_gated_files_by_role(hub, world: World) -> None:  # type: ignore[no-untyped-def]
    w = world
    rid = f"{w.team.org}/gated-{secrets.token_hex(3)}"
    with HubClient(hub.url, w.team.tokens["admin"], progress=False) as hc:
        hc.create_repo(rid)
        hc.upload(rid, {"w.bin": b"weights"}, message="weights")
    admin = w.clients["admin"]
    assert admin.put(f"/api/models/{rid}/settings", json={"gated": "manual"}).status_code == 200
    expect = {"anonymous": (401, "GatedRepo"), "outsider": (403, "GatedRepo")}
    problems = []
    for who in WHO:
        c = w.clients[who]
        if c.get(f"/api/models/{rid}").status_code != 200:
            problems.append(f"{who}: cannot read the gated repo's info")
        for method, url in (
            ("GET", f"/{rid}/resolve/main/w.bin"),
            ("HEAD", f"/{rid}/resolve/main/w.bin"),
            ("GET", f"/api/models/{rid}/xet-read-token/main"),
        ):
            r = c.request(method, url)
            got = (r.status_code, r.headers.get("X-Error-Code"))
            want = expect.get(who, (200, None))
            if got != want:
                problems.append(f"{who} {method} {url}: {got}, expected {want}")
    assert not problems, "\n".join(problems)


# -- 7: expired tokens, disabled users, limited tokens ----------------------------------------


def test_lapsed_and_limited_tokens(world: World) -> None:
    w = world
    before = snapshot(w)
    problems: list[str] = []
    codes = {"expired": "TokenExpired", "disabled": "AccountDisabled"}
    repo_needs = {"read", "write", "admin", "participate", "author"}
    for key, route, t in _calls(repo_needs | {"create", "self", "member", "orgadmin", "hubadmin", "runner"}):
        real = w.real[t]
        for who, code in codes.items():
            r = _send(w.clients[who], route.call(real, who))
            got = (r.status_code, r.headers.get("X-Error-Code"))
            if got != (401, code):
                problems.append(f"{who} {key[0]} {key[1]} ({t}): {got}, expected (401, {code!r})")
        # limited to another namespace: on these private repos, an outsider
        c = w.clients["limited"]
        if route.need in repo_needs:
            twin = w.twin[t]
            names = [real.name, twin.name, real.arxiv, twin.arxiv]
            got, missing = _send(c, route.call(real, "limited")), _send(c, route.call(twin, "limited"))
            where = f"limited {key[0]} {key[1]} ({t})"
            if got.is_success:
                problems.append(f"{where}: answered {got.status_code} on a private repo outside its limits")
            if _norm(got, names) != _norm(missing, names):
                problems.append(f"{where}: differs from a missing repo: {got.status_code} {got.text[:200]!r}")
        elif route.mutates and route.need not in ("hubadmin", "runner"):
            r = _send(c, route.call(real, "limited"))
            if r.status_code != 403:
                problems.append(f"limited {key[0]} {key[1]} ({t}): {r.status_code}, expected 403")
    assert not problems, "\n".join(problems)
    assert snapshot(w) == before, "a lapsed or limited token changed the hub"
