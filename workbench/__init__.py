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

__version__ = "0.1.0"

from workbench import widgets as ui
from workbench.binder import binder_url
from workbench.cards import Card, card
from workbench.collab import Discussions, Inbox, comment, discussions, inbox, like
from workbench.display import CommitInfo, RepoInfo, info
from workbench.evals.kernel import evaluate, leaderboard
from workbench.evals.report import report
from workbench.inputs import InputRecord, Inputs, clear_inputs, inputs
from workbench.loading import load_dataset, load_model, register_model
from workbench.papers import Paper, load_paper, publish_paper
from workbench.publishing import publish_dataset, publish_model, publish_notebook
from workbench.search_results import SearchResults, search
from workbench.session import Connection, connect, connection
from workbench.viewer.kernel import Viewer, viewer

__all__ = [
    "Card",
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
    "publish_dataset",
    "publish_model",
    "publish_notebook",
    "publish_paper",
    "register_model",
    "report",
    "search",
    "ui",
    "viewer",
]
