"""Rasa's ResponseSelector, asked only about the messages it can answer.

Rasa runs every pipeline component on every message, so its ResponseSelector
chose a short factual answer (a network of its own) even for messages whose
intent is not the retrieval intent ``faq``, and nothing read that choice: only
``action_answer`` does, and it runs for ``faq`` (actions/actions_conversation.py).
It was a tenth of the Rasa server's time per message (py-spy, docs/operations.md).
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class FaqResponseSelector(ResponseSelector):  # type: ignore[misc]  # Rasa ships no types
    """A ResponseSelector that selects only for messages classified as its retrieval intent.

    Configured in ``config.yml`` after the intent classifier, with Rasa's own options::

        - name: rasa_addons.faq_selector.FaqResponseSelector
          retrieval_intent: faq
    """

    def process(self, messages: list[Message]) -> list[Message]:
        """Select a response for the messages whose intent is the retrieval intent; leave the others."""
        asked = [message for message in messages if self._is_asked(message)]
        if asked:
            super().process(asked)
        return messages

    def _is_asked(self, message: Message) -> bool:
        intent = message.get(INTENT) or {}
        return not self.retrieval_intent or intent.get(INTENT_NAME_KEY) == self.retrieval_intent
