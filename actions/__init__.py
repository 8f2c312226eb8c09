"""Opastin custom actions, run by the action server (`rasa run actions`)."""
