"""Workbench: a team hub for models, datasets and papers, inside JupyterLab.

The kernel helpers, for notebooks::

    import workbench as wb
    wb.connect()                                   # or WORKBENCH_HUB_URL / WORKBENCH_TOKEN
    wb.search("iris", type="dataset")
    ds = wb.load_dataset("admin/iris-mini", split="train")
    model = wb.load_model("admin/tiny-classifier")
    wb.publish_model(model, "me/tiny", example_inputs=torch.randn(8, 4))
    wb.inputs()                                    # what this kernel loaded, with commits

Heavy libraries (torch, datasets, transformers, ipywidgets) are imported on first use.
"""

from workbench.binder import binder_url
from workbench.kernel import widgets as ui
from workbench.kernel.cards import Card, card
from workbench.kernel.collab import (
    Discussions,
    Inbox,
    comment,
    discussions,
    inbox,
    like,
    request_access,
    review,
)
from workbench.kernel.collections import Collection, Collections, collection, collections
from workbench.kernel.dataset_publishing import publish_dataset
from workbench.kernel.datasets import load_dataset
from workbench.kernel.display import CommitInfo, RepoInfo, info
from workbench.kernel.evaluation import evaluate, leaderboard
from workbench.kernel.inputs import InputRecord, Inputs, clear_inputs, inputs
from workbench.kernel.model_publishing import publish_model
from workbench.kernel.models import load_model, register_model
from workbench.kernel.notebook_publishing import publish_notebook
from workbench.kernel.papers import Paper, load_paper, publish_paper
from workbench.kernel.report import report
from workbench.kernel.search import SearchResults, search
from workbench.kernel.session import Connection, connect, connection, login
from workbench.kernel.viewer import Viewer, viewer
from workbench.version import __version__

__all__ = [
    "Card",
    "Collection",
    "Collections",
    "CommitInfo",
    "Connection",
    "Discussions",
    "Inbox",
    "InputRecord",
    "Inputs",
    "Paper",
    "RepoInfo",
    "SearchResults",
    "Viewer",
    "__version__",
    "binder_url",
    "card",
    "clear_inputs",
    "collection",
    "collections",
    "comment",
    "connect",
    "connection",
    "discussions",
    "evaluate",
    "inbox",
    "info",
    "inputs",
    "leaderboard",
    "like",
    "load_dataset",
    "load_model",
    "load_paper",
    "login",
    "publish_dataset",
    "publish_model",
    "publish_notebook",
    "publish_paper",
    "register_model",
    "report",
    "request_access",
    "review",
    "search",
    "ui",
    "viewer",
]
