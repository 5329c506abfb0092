"""Throughput benchmarks of the hub and its client (``python -m bench.run``).

Each benchmark prints ratios against a baseline measured in the same run on the same disk
(``cp``, ``hashlib``), never absolute thresholds; see bench/README.md.
"""
