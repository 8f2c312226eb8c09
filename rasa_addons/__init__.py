"""Opastin's extensions to Rasa itself (loaded by the Rasa server, not the action server)."""
