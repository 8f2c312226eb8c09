"""HTTP APIs of the handoff service: public status and the service API."""
