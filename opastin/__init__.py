"""Opastin's framework-free core: Finnish text, the safety net and other shared logic.

Nothing here imports Rasa, the Rasa SDK, FastAPI, SQLAlchemy or socket.io, so
the Rasa server, the action server and the handoff service can all use it.
"""
