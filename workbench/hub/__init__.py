"""The hub service: ``create_app(settings)`` builds the ASGI application."""

from workbench.hub.app import create_app

__all__ = ["create_app"]
