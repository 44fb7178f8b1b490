"""The ASGI entry point for uvicorn: ``uvicorn --factory app.asgi:build``.

Settings come from ``VOUCH_*`` variables; nothing is built at import time.
"""

from fastapi import FastAPI

from app.core.config import Settings
from app.main import create_app


def build() -> FastAPI:
    return create_app(Settings())
