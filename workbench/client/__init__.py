"""The client of the hub: the only code in Workbench that speaks HTTP to it.

>>> from workbench.client import HubClient
>>> with HubClient() as hub:                          # doctest: +SKIP
...     hub.upload("me/tiny-model", ["config.json", "weights/"])
"""

from workbench.client.hub_client import HubClient

__all__ = ["HubClient"]
