"""Opastin handoff service: team hours, presence, queues and the service API."""
