"""Write a run's results into the model card's ``model-index`` metadata (HF conventions).

The card is rewritten by ``workbench.model_index`` (one result per task, dataset and split,
and the "Evaluation results" section). The change is a commit on the model's ``main`` branch
(it needs write access to the model), made with the commit the card was read at as parent,
so a concurrent card edit is never overwritten silently.

>>> publish_to_card(client, record.data)          # doctest: +SKIP
{'commit': '3f2a...', 'model': 'admin/tiny-classifier'}
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from workbench.errors import EntryNotFound
from workbench.model_index import card_with_result
from workbench.repocard import README


def publish_to_card(client: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Commit the run's metrics into the model card; returns ``{"commit", "model"}``."""
    model = data["model"]
    head = client.revision_sha(model)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_file(model, README, revision=head, local_dir=tmp)
            text = Path(path).read_text(encoding="utf-8")
        except EntryNotFound:
            text = f"# {model.split('/')[-1]}\n"
    card = card_with_result(text, model.split("/")[-1], data)
    result = client.upload(
        model,
        {README: card.encode("utf-8")},
        parent_commit=head,
        message=f"Add evaluation results of run {data.get('id')}",
        description=f"Results of run {data.get('id')} on {data['dataset']} "
        f"[{data['split']}] at {data['dataset_commit'][:12]}.",
    )
    return {"commit": result.get("commitOid"), "model": model}
