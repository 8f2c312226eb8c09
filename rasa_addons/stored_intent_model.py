"""What the two linear components of the pipeline share: an :class:`opastin.intents.IntentModel`
trained by ``rasa train``, kept in the Rasa model and read back when the server starts."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar, Self

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage

from opastin.intents import IntentModel

logger = logging.getLogger(__name__)


class StoredIntentModel(GraphComponent):  # type: ignore[misc]  # Rasa ships no types
    """A component holding an :class:`IntentModel` in the model's storage as :attr:`file_name`."""

    file_name: ClassVar[str]
    # Logged when the model has none: what the resident then does without.
    missing: ClassVar[str]

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: IntentModel | None = None,
    ) -> None:
        """Keep the config, where the model is stored, and the model once trained or loaded."""
        self.component_config = config
        self._model_storage = model_storage
        self._resource = resource
        self.model = model

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> Self:
        """An untrained component."""
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> Self:
        """The component with the model stored in the Rasa model (without one, with a warning,
        when it has none)."""
        try:
            with model_storage.read_from(resource) as directory:
                return cls(config, model_storage, resource, IntentModel.load(Path(directory) / cls.file_name))
        except (ValueError, FileNotFoundError):
            logger.warning("%s", cls.missing)
            return cls(config, model_storage, resource)

    def keep(self, model: IntentModel) -> Resource:
        """Use ``model`` from now on and store it in the Rasa model."""
        self.model = model
        with self._model_storage.write_to(self._resource) as directory:
            model.save(Path(directory) / self.file_name)
        return self._resource
