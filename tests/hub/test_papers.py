"""Paper pages: BibTeX import, the HF paper endpoints, citation links, PDF text search, export."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from tests.support.pdf import tiny_pdf
from tests.support.team import Team, make_team
from workbench.bibtex import parse_bibtex


@pytest.fixture(scope="module")
def team(hub) -> Team:  # type: ignore[no-untyped-def]
    return make_team(hub, prefix="papers")


@pytest.fixture(scope="module")
def imported(hub, tmp_path_factory) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Two papers imported from a .bib file: one with an arXiv id and a PDF, one with a DOI."""
    tag = secrets.token_hex(3)
    folder: Path = tmp_path_factory.mktemp("bib")
    word = f"zorblax{tag}"
    (folder / "paper.pdf").write_bytes(tiny_pdf(f"we calibrate the {word} spectrometer"))
    arxiv = f"29{secrets.randbelow(100):02d}.{secrets.randbelow(100000):05d}"
    doi = f"10.5555/wb.{tag}"
    (folder / "refs.bib").write_text(
        f"""
@article{{attn{tag},
  title = {{Attention Is {{All}} You Need {tag}}},
  author = {{Vaswani, Ashish and Shazeer, Noam}},
  year = 2017,
  eprint = {{{arxiv}}},
  archivePrefix = {{arXiv}},
  journal = {{NeurIPS}},
  abstract = {{Transformers replace recurrence with attention {tag}.}},
  file = {{paper.pdf}},
}}
@inproceedings{{other{tag},
  title = {{A Second Paper}},
  author = {{Doe, Jane}},
  doi = {{{doi}}},
  year = {{2020}},
}}
""",
        encoding="utf-8",
    )
    out = hub.cli("paper", "import", str(folder / "refs.bib"), "--json")
    results = json.loads(out.stdout)["results"]
    assert [r["status"] for r in results] == ["created", "created"], out
    return {
        "attn": f"admin/attn{tag}",
        "other": f"admin/other{tag}",
        "arxiv": arxiv,
        "doi": doi,
        "word": word,
        "tag": tag,
        "bib": str(folder / "refs.bib"),
    }


def test_paper_info_by_arxiv_doi_and_repo_id(api, imported: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    info = api.paper_info(imported["arxiv"])
    assert info.id == imported["attn"]
    assert info.title == f"Attention Is All You Need {imported['tag']}"
    assert [a.name for a in info.authors] == ["Ashish Vaswani", "Noam Shazeer"]
    assert info.summary == f"Transformers replace recurrence with attention {imported['tag']}."
    assert info.published_at is not None and info.published_at.year == 2017
    assert api.paper_info(f"{imported['arxiv']}v3").id == imported["attn"]  # versions fold
    assert api.paper_info(imported["doi"]).id == imported["other"]  # the DOI's slash as is
    assert api.paper_info(imported["doi"].replace("/", "%2F")).id == imported["other"]
    by_repo = api.paper_info(imported["attn"])
    assert by_repo.title == info.title and by_repo.linked_models == []
    with pytest.raises(HfHubHTTPError) as exc:
        api.paper_info("2999.99999")
    assert exc.value.response.status_code == 404
    assert api.read_paper(imported["arxiv"]).startswith("---")
    assert "## Abstract" in api.read_paper(imported["attn"])


def test_list_papers_finds_pdf_text_and_titles(api, hub, imported: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    found = list(api.list_papers(query=imported["word"]))
    assert [p.id for p in found] == [imported["attn"]]  # a word only in the PDF
    assert [p.id for p in api.list_papers(query=f"attention {imported['tag']}")] == [imported["attn"]]
    assert imported["other"] in [p.id for p in api.list_papers(query="second paper", limit=100)]
    with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {hub.token}"}) as c:
        r = c.get("/api/papers/search", params={"q": "x", "limit": 0})
        assert r.status_code == 400


def test_bibtex_import_refuses_bad_files_whole(hub, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tag = secrets.token_hex(3)
    bib = tmp_path / "bad.bib"
    bib.write_text(
        f"""
@article{{good{tag}, title={{Fine}}, author={{Doe, J.}}, year={{2021}}}}
@article{{notitle{tag}, author={{X}}}}
@article{{baddoi{tag}, title={{T}}, author={{Y}}, doi={{11.2/x}}}}
@article{{nopdf{tag}, title={{T}}, author={{Y}}, file={{missing.pdf}}}}
@misc{{broken{tag}, title = {{No closing brace
""",
        encoding="utf-8",
    )
    out = hub.cli("paper", "import", str(bib), check=False)
    assert out.returncode == 1
    assert f"notitle{tag}: no title" in out.stderr
    assert f"baddoi{tag}: doi '11.2/x' is not a DOI" in out.stderr
    assert f"nopdf{tag}: file 'missing.pdf' does not exist" in out.stderr
    assert "cannot parse" in out.stderr and "nothing was imported" in out.stderr
    anon = HfApi(endpoint=hub.url, token=False)
    for name in ("good", "notitle", "baddoi", "nopdf"):
        with pytest.raises(HfHubHTTPError):
            anon.paper_info(f"admin/{name}{tag}")
    out = hub.cli("paper", "import", str(bib), "--skip-invalid", check=False)
    assert out.returncode == 0 and f"created: admin/good{tag}" in out.stdout
    again = hub.cli("paper", "import", str(bib), "--skip-invalid")
    assert f"exists, skipped: admin/good{tag}" in again.stdout
    empty = tmp_path / "empty.bib"
    empty.write_text("% nothing here\n")
    assert "no BibTeX entries" in hub.cli("paper", "import", str(empty), check=False).stderr
    assert hub.cli("paper", "import", str(tmp_path / "nope.bib"), check=False).returncode == 1


def _card(meta: dict[str, object]) -> bytes:
    import yaml

    return f"---\n{yaml.safe_dump(meta)}---\n\n# Card\n".encode()


def test_models_and_datasets_citing_a_paper(hub, api, team: Team, imported: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    tag = imported["tag"]
    model, dataset = f"admin/cites-{tag}", f"admin/cites-ds-{tag}"
    api.create_repo(model)
    api.upload_file(
        path_or_fileobj=_card({"tags": [f"arxiv:{imported['arxiv']}"]}),
        path_in_repo="README.md",
        repo_id=model,
    )
    api.create_repo(dataset, repo_type="dataset")
    api.upload_file(
        path_or_fileobj=_card({"papers": [imported["doi"].upper(), imported["attn"]]}),
        path_in_repo="README.md",
        repo_id=dataset,
        repo_type="dataset",
    )
    space = f"admin/cites-space-{tag}"
    api.create_repo(space, repo_type="space", space_sdk="static")
    api.upload_file(
        path_or_fileobj=_card({"papers": [f"https://arxiv.org/pdf/{imported['arxiv']}v2.pdf"]}),
        path_in_repo="README.md",
        repo_id=space,
        repo_type="space",
    )
    # a private model of someone else cites it too: listed only for those who may read it
    outsider = HfApi(endpoint=hub.url, token=team.tokens["outsider"])
    secret = f"{team.users['outsider']}/secret-{tag}"
    outsider.create_repo(secret, private=True)
    outsider.upload_file(
        path_or_fileobj=_card({"papers": [imported["arxiv"]]}), path_in_repo="README.md", repo_id=secret
    )

    # HfApi.paper_info sends no token (as on the public hub): it sees public links only
    info = api.paper_info(imported["arxiv"])
    assert [m.id for m in info.linked_models or []] == [model] and info.num_total_models == 1
    assert [d.id for d in info.linked_datasets or []] == [dataset]
    assert [x.id for x in info.linked_spaces or []] == [space]
    for who, models in (
        (hub.token, {model, secret}),
        (team.tokens["outsider"], {model, secret}),
        (team.tokens["reader"], {model}),
    ):
        with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {who}"}) as c:
            out = c.get(f"/api/papers/{imported['arxiv']}").json()
            assert {m["id"] for m in out["linkedModels"]} == models
            assert out["numTotalModels"] == len(models)
    assert [
        d.id for d in HfApi(endpoint=hub.url, token=False).paper_info(imported["doi"]).linked_datasets or []
    ] == [dataset]
    # and the papers on the model and dataset
    with httpx.Client(base_url=hub.url) as c:
        out = c.get(f"/api/models/{model}/papers").json()
        assert [p["id"] for p in out["papers"]] == [imported["attn"]]
        out = c.get(f"/api/datasets/{dataset}/papers").json()
        assert sorted(p["id"] for p in out["papers"]) == sorted([imported["attn"], imported["other"]])
        cited_by = c.get(f"/api/papers/{imported['attn']}/papers").json()["citedBy"]
        assert {r["id"] for r in cited_by} == {model, dataset, space}
        assert c.get(f"/api/models/{secret}/papers").status_code == 404
    # editing the card drops the link
    api.upload_file(path_or_fileobj=_card({"tags": ["nothing"]}), path_in_repo="README.md", repo_id=model)
    assert api.paper_info(imported["arxiv"]).linked_models == []
    with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {hub.token}"}) as c:
        assert [m["id"] for m in c.get(f"/api/papers/{imported['arxiv']}").json()["linkedModels"]] == [secret]


def test_pdf_text_follows_the_pdf(hub, api) -> None:  # type: ignore[no-untyped-def]
    from workbench.client import HubClient

    tag = secrets.token_hex(3)
    rid, old, new = f"admin/pdf-{tag}", f"platypus{tag}", f"quokka{tag}"
    card = _card({"title": "PDF text", "authors": ["A"], "abstract": "x"})
    with HubClient(hub.url, hub.token, progress=False) as c:
        c.create_repo(rid, type="paper")
        c.upload(
            rid, {"README.md": card, "paper.pdf": tiny_pdf(f"the {old} result")}, type="paper", message="pdf"
        )
        assert [p.id for p in api.list_papers(query=old)] == [rid]
        # HfApi has no "paper" repo type for uploads: commit with the workbench client
        c.upload(rid, {"paper.pdf": tiny_pdf(f"the {new} result")}, type="paper", message="new pdf")
        assert [p.id for p in api.list_papers(query=new)] == [rid]
        assert list(api.list_papers(query=old)) == []
        c.delete_files(rid, ["paper.pdf"], type="paper", message="no pdf")
        assert list(api.list_papers(query=new)) == []
        # a file that only claims to be a PDF is indexed without text, the commit still lands
        c.upload(rid, {"paper.pdf": b"%PDF-1.4 garbage"}, type="paper", message="broken pdf")
    assert [p.id for p in api.list_papers(query="pdf text")] == [rid]


def test_bibtex_export_round_trips(hub, imported: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=hub.url) as c:
        r = c.get(f"/api/papers/{imported['attn']}/bibtex")
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-bibtex")
    entries, errors = parse_bibtex(r.text)
    assert errors == [] and len(entries) == 1
    card = entries[0].card
    assert entries[0].key == f"attn{imported['tag']}"
    assert card["title"] == f"Attention Is All You Need {imported['tag']}"
    assert card["authors"] == ["Ashish Vaswani", "Noam Shazeer"]
    assert card["identifiers"] == {"arxiv": imported["arxiv"]}
    assert card["bibtex"]["fields"]["journal"] == "NeurIPS" and card["published"] == "2017"
    out = tmp_path / "out.bib"
    hub.cli("paper", "export", imported["attn"], imported["other"], "-o", str(out))
    both, errors = parse_bibtex(out.read_text())
    assert errors == [] and [e.card["title"] for e in both] == [card["title"], "A Second Paper"]
    assert both[1].card["identifiers"] == {"doi": imported["doi"]}
    missing = hub.cli("paper", "export", "admin/no-such-paper", check=False)
    assert missing.returncode == 1 and "not found" in missing.stderr


def test_kernel_paper_bibtex(hub, imported: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import workbench as wb

    wb.connect(hub.url, hub.token, cache_dir=tmp_path / "cache")
    paper = wb.load_paper(imported["attn"])
    assert paper.arxiv_id == imported["arxiv"] and paper.pdf_path is not None
    entries, errors = parse_bibtex(paper.bibtex())
    assert errors == [] and entries[0].card["identifiers"] == {"arxiv": imported["arxiv"]}
    with httpx.Client(base_url=hub.url) as c:  # the same entry the hub exports
        assert paper.bibtex() == c.get(f"/api/papers/{imported['attn']}/bibtex").text


def test_private_papers_are_invisible(hub, team: Team) -> None:  # type: ignore[no-untyped-def]
    tag = secrets.token_hex(3)
    arxiv = f"28{secrets.randbelow(100):02d}.{secrets.randbelow(100000):05d}"
    from workbench.client import HubClient

    with HubClient(hub.url, team.tokens["writer"], progress=False) as c:
        c.create_repo(f"{team.org}/hidden-{tag}", type="paper", private=True)
        c.upload(
            f"{team.org}/hidden-{tag}",
            {
                "README.md": _card(
                    {
                        "title": f"Hidden {tag}",
                        "authors": ["A"],
                        "abstract": "x",
                        "identifiers": {"arxiv": arxiv},
                    }
                ),
                "paper.pdf": tiny_pdf(f"secretword{tag}"),
            },
            type="paper",
            message="x",
        )
    for who in ("outsider", "anonymous"):
        api = HfApi(endpoint=hub.url, token=team.tokens[who] or False)
        for ident in (arxiv, f"{team.org}/hidden-{tag}"):
            with pytest.raises(HfHubHTTPError) as exc:
                api.paper_info(ident)
            assert exc.value.response.status_code == 404
        assert list(api.list_papers(query=f"secretword{tag}")) == []
        assert list(api.list_papers(query=f"hidden {tag}")) == []
    reader = HfApi(endpoint=hub.url, token=team.tokens["reader"])
    with pytest.raises(HfHubHTTPError):  # HfApi.paper_info never sends the token
        reader.paper_info(arxiv)
    with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {team.tokens['reader']}"}) as c:
        assert c.get(f"/api/papers/{arxiv}").json()["title"] == f"Hidden {tag}"
        assert c.get(f"/api/papers/{team.org}/hidden-{tag}/bibtex").status_code == 200
    with httpx.Client(base_url=hub.url) as c:
        assert c.get(f"/api/papers/{team.org}/hidden-{tag}/bibtex").status_code == 404
        assert c.get(f"/papers/{arxiv}.md").status_code == 404
    assert [p.id for p in reader.list_papers(query=f"secretword{tag}")] == [f"{team.org}/hidden-{tag}"]


@pytest.mark.postgres
def test_papers_links_and_audit_on_postgres(hub_factory, postgres_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pg = hub_factory(database_url=postgres_url)
    team = make_team(pg, prefix="pg")
    bib = tmp_path / "refs.bib"
    (tmp_path / "p.pdf").write_bytes(tiny_pdf("wombatsignal in the data"))
    bib.write_text(
        "@article{pgpaper, title={On PostgreSQL}, author={Doe, Jane}, eprint={2501.00001},"
        " archivePrefix={arXiv}, doi={10.5555/pg.1}, file={p.pdf}}\n"
    )
    out = pg.cli("paper", "import", str(bib))
    assert "created: admin/pgpaper" in out.stdout
    api = HfApi(endpoint=pg.url, token=pg.token)
    api.create_repo(f"{team.org}/citing", private=True)
    api.upload_file(
        path_or_fileobj=_card({"tags": ["arxiv:2501.00001"], "papers": ["10.5555/PG.1"]}),
        path_in_repo="README.md",
        repo_id=f"{team.org}/citing",
    )
    assert [p.id for p in api.list_papers(query="wombatsignal")] == ["admin/pgpaper"]
    with httpx.Client(base_url=pg.url, headers={"Authorization": f"Bearer {team.tokens['reader']}"}) as c:
        info = c.get("/api/papers/2501.00001").json()
        assert [m["id"] for m in info["linkedModels"]] == [f"{team.org}/citing"]
        assert [p["id"] for p in c.get(f"/api/models/{team.org}/citing/papers").json()["papers"]] == [
            "admin/pgpaper"
        ]
    assert HfApi(endpoint=pg.url, token=False).paper_info("10.5555/pg.1").linked_models == []
    with team.client(pg, "admin") as c:
        assert (
            c.put(
                f"/api/organizations/{team.org}/members/{team.users['outsider']}", json={"role": "write"}
            ).status_code
            == 200
        )
        events = c.get("/api/audit", params={"namespace": team.org}).json()["events"]
    assert [e["action"] for e in events][:2] == ["member.add", "repo.create"]


def test_repos_from_before_the_links_are_backfilled(hub_factory) -> None:  # type: ignore[no-untyped-def]
    """Repos that predate migration 0005 get their links and PDF text when the hub starts."""
    from sqlalchemy import delete, select

    from workbench.client import HubClient
    from workbench.config import HubSettings
    from workbench.store import models as m
    from workbench.store.paper_backfill import PAPER_BACKFILL
    from workbench.store.store import Store

    old = hub_factory()
    with HubClient(old.url, old.token, progress=False) as c:
        c.create_repo("admin/old-paper", type="paper")
        c.upload(
            "admin/old-paper",
            {
                "README.md": _card(
                    {
                        "title": "Old",
                        "authors": ["A"],
                        "abstract": "x",
                        "identifiers": {"arxiv": "2001.00002"},
                    }
                ),
                "paper.pdf": tiny_pdf("echidnaword"),
            },
            type="paper",
            message="p",
        )
        c.create_repo("admin/old-model")
        c.upload("admin/old-model", {"README.md": _card({"tags": ["arxiv:2001.00002"]})}, message="m")
    old.stop()
    store = Store.open(HubSettings(data_dir=old.data, write_user_config=False))
    try:  # as the store looked before 0005: no links, no PDF text, and the migration's mark
        with store.write() as s:
            s.execute(delete(m.PaperRef))
            s.execute(delete(m.PaperText))
            s.add(m.KeyValue(key=PAPER_BACKFILL, value="1"))
    finally:
        store.close()
    old.start()
    api = HfApi(endpoint=old.url, token=old.token)
    assert [p.id for p in api.list_papers(query="echidnaword")] == ["admin/old-paper"]
    assert [x.id for x in api.paper_info("2001.00002").linked_models or []] == ["admin/old-model"]
    store = Store.open(HubSettings(data_dir=old.data, write_user_config=False))
    try:
        with store.read() as s:
            assert s.get(m.KeyValue, PAPER_BACKFILL) is None
            assert [t.text.strip() for t in s.scalars(select(m.PaperText))] == ["echidnaword"]
    finally:
        store.close()
