"""Opastin's extensions to Rasa itself (loaded by the Rasa server, not the action server).

Rasa imports this package when it creates the tracker store and loads the NLU
components named in ``config.yml``, before the first message; importing it
also installs the faster action-response check of ``action_validation``.
"""

from rasa_addons import action_validation

action_validation.install()
