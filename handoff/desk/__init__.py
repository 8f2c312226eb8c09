"""The agent desk: pages under ``/desk``, its static files, and its socket.io namespace."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from handoff.desk.routes import create_router
from handoff.desk.socket import DeskNamespace
from handoff.gateway.hub import Gateway
from handoff.runtime import Services

STATIC_DIR = Path(__file__).resolve().parent / "static"


def mount_desk(app: FastAPI, services: Services, gateway: Gateway) -> None:
    """Add the desk's routes and static files to ``app`` and its namespace to the gateway."""
    sockets = DeskNamespace(gateway)
    app.include_router(create_router(services, gateway, sockets))
    app.mount("/static/desk", StaticFiles(directory=STATIC_DIR), name="desk")
    gateway.sio.register_namespace(sockets)
    gateway.desk_sockets = sockets
