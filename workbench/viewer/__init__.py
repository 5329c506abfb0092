"""The dataset viewer: commits converted to Parquet in the background, queried with DuckDB.

Hub side: ``jobs`` (the queue in the metadata store and its worker process), ``layout``
(configs and splits, as ``datasets`` finds them), ``sources`` (reading data files, writing
Parquet), ``convert`` (the conversion job and the ``refs/convert/parquet`` ref),
``conversions`` (which conversion to show), ``query`` (pages, filters), ``filters`` (the
``where``/``orderby`` grammar), ``textsearch``, ``statistics``, ``cells`` (typed cells).
Notebook side: ``kernel`` and ``widget``, which speak to the hub through
:class:`workbench.client.HubClient` only. See docs/viewer.md.
"""
