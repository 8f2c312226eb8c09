"""A response generator that never says the same thing twice in a row.

Rasa picks one of a response's variations at random and would happily send a
resident the very text of the bot's previous turn ("Kerro, missä asiassa voin
auttaa." twice, the same team reply three times). :class:`NoRepeatGenerator`
renders the response as Rasa does, but when the text was already in the bot's
previous turn it takes another variation, then a variation of the response
``<name>_again`` (editors write these in ``domain.yml`` for the replies that
are likely to come twice: a repeated question, a second "kiitos", a re-asked
form step). Only when nothing else exists is the text repeated.

Configured in ``endpoints.yml``::

    nlg:
      type: rasa_addons.no_repeat.NoRepeatGenerator
"""

from __future__ import annotations

import copy
import random
from collections.abc import Sequence
from typing import Any

from rasa.core.nlg.generator import ResponseVariationFilter
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

AGAIN_SUFFIX = "_again"


def previous_turn_texts(events: Sequence[Event]) -> set[str]:
    """The texts the bot sent in its turn before the latest resident message."""
    texts: set[str] = set()
    users_seen = 0
    for event in reversed(events):
        if isinstance(event, UserUttered):
            users_seen += 1
            if users_seen == 2:
                break
        elif users_seen == 1 and isinstance(event, BotUttered) and event.text:
            texts.add(event.text)
    return texts


class NoRepeatGenerator(TemplatedNaturalLanguageGenerator):  # type: ignore[misc]  # Rasa ships no types
    """Rasa's response generator, without repeating a text of the bot's previous turn."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, domain: Domain | None = None) -> None:
        super().__init__((domain or Domain.empty()).responses)

    def _variations(
        self, name: str, output_channel: str, filled_slots: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if name not in self.responses:
            return []
        found = ResponseVariationFilter(self.responses).responses_for_utter_action(
            name, output_channel, filled_slots
        )
        return random.sample(found, len(found))

    async def generate(
        self, utter_action: str, tracker: DialogueStateTracker, output_channel: str, **kwargs: Any
    ) -> dict[str, Any] | None:
        """The response, in a variation whose text the bot's previous turn did not have."""
        said = previous_turn_texts(tracker.events)
        filled = tracker.current_slot_values()
        if said:
            for name in (utter_action, utter_action + AGAIN_SUFFIX):
                for variation in self._variations(name, output_channel, filled):
                    rendered: dict[str, Any] = self._fill_response(copy.deepcopy(variation), filled, **kwargs)
                    if rendered.get("text") not in said:
                        return rendered
        generated: dict[str, Any] | None = self.generate_from_slots(
            utter_action, filled, output_channel, **kwargs
        )
        return generated
