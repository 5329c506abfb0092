"""`datasets.load_dataset` and `evaluate.load` against the hub, unchanged, with HF_ENDPOINT set."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from huggingface_hub import HfApi


@pytest.fixture(scope="module")
def _no_parquet_export() -> None:
    import datasets

    # The library also asks `datasets-server.<hub host>` for exported infos; skip that lookup.
    datasets.config.USE_PARQUET_EXPORT = False


def _table(n: int, offset: int = 0):  # type: ignore[no-untyped-def]
    import pyarrow as pa

    return pa.table(
        {
            "x": [float(i + offset) for i in range(n)],
            "text": [f"row {i + offset}" for i in range(n)],
            "label": [(i + offset) % 3 for i in range(n)],
        }
    )


def test_csv_dataset_without_readme(api: HfApi, hub, _no_parquet_export) -> None:
    import datasets

    api.create_repo("admin/csv-ds", repo_type="dataset")
    api.upload_file(
        path_or_fileobj=b"x,label\n1,a\n2,b\n3,c\n",
        path_in_repo="train.csv",
        repo_id="admin/csv-ds",
        repo_type="dataset",
    )
    api.upload_file(
        path_or_fileobj=b"x,label\n4,d\n",
        path_in_repo="test.csv",
        repo_id="admin/csv-ds",
        repo_type="dataset",
    )
    ds = datasets.load_dataset("admin/csv-ds")
    assert set(ds) == {"train", "test"}
    assert ds["train"]["label"] == ["a", "b", "c"] and ds["test"]["x"] == [4]


def test_parquet_dataset_with_card_and_streaming(api: HfApi, hub, tmp_path: Path, _no_parquet_export) -> None:
    import datasets
    import pyarrow.parquet as pq

    folder = tmp_path / "pq"
    (folder / "data").mkdir(parents=True)
    pq.write_table(_table(50), folder / "data" / "train-00000-of-00001.parquet")
    pq.write_table(_table(10, 100), folder / "data" / "test-00000-of-00001.parquet")
    (folder / "README.md").write_text("---\nlicense: mit\n---\n# A parquet dataset\n")
    api.create_repo("admin/pq-ds", repo_type="dataset")
    api.upload_folder(folder_path=folder, repo_id="admin/pq-ds", repo_type="dataset")
    ds = datasets.load_dataset("admin/pq-ds")
    assert ds["train"].num_rows == 50 and ds["test"]["x"][0] == 100.0
    streamed = datasets.load_dataset("admin/pq-ds", split="train", streaming=True)
    rows = list(streamed)
    assert len(rows) == 50 and rows[7]["text"] == "row 7"
    pinned = datasets.load_dataset("admin/pq-ds", split="test", revision=api.dataset_info("admin/pq-ds").sha)
    assert pinned.num_rows == 10


def test_jsonl_dataset_in_data_folder(api: HfApi, hub, _no_parquet_export) -> None:
    import datasets

    api.create_repo("admin/jsonl-ds", repo_type="dataset")
    buf = io.BytesIO(b'{"q": "1"}\n{"q": "2"}\n')
    api.upload_file(
        path_or_fileobj=buf, path_in_repo="data/train.jsonl", repo_id="admin/jsonl-ds", repo_type="dataset"
    )
    api.upload_file(
        path_or_fileobj=b'{"q": "3"}\n',
        path_in_repo="data/validation.jsonl",
        repo_id="admin/jsonl-ds",
        repo_type="dataset",
    )
    ds = datasets.load_dataset("admin/jsonl-ds")
    assert ds["train"]["q"] == ["1", "2"] and ds["validation"]["q"] == ["3"]


METRIC = '''
import datasets
import evaluate


class ExactShare(evaluate.Metric):
    """Share of predictions equal to their reference."""

    def _info(self):
        return evaluate.MetricInfo(
            description="share of exact matches", citation="", inputs_description="",
            features=datasets.Features({"predictions": datasets.Value("int64"),
                                        "references": datasets.Value("int64")}))

    def _compute(self, predictions, references):
        same = sum(int(p == r) for p, r in zip(predictions, references))
        return {"exact_share": same / len(references)}
'''


def test_evaluate_loads_a_metric_from_a_space(api: HfApi, hub) -> None:
    import evaluate

    api.create_repo("admin/exact_share", repo_type="space", space_sdk="gradio")
    api.upload_file(
        path_or_fileobj=METRIC.encode(),
        path_in_repo="exact_share.py",
        repo_id="admin/exact_share",
        repo_type="space",
    )
    metric = evaluate.load("admin/exact_share")
    assert metric.compute(predictions=[1, 2, 3, 4], references=[1, 2, 0, 4]) == {"exact_share": 0.75}
