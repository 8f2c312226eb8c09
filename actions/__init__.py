"""Opastin custom actions, run by the action server (`python -m actions`, see __main__.py)."""
