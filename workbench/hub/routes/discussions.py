"""Placeholder router; filled in by the work on issues 4 and 5."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
