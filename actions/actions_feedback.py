"""Feedback after a live chat (and whenever a resident wants to give it): a rating 1–5 and a comment.

The chat gateway sends ``/give_feedback`` when a professional ends the chat;
``feedback_form`` asks for the rating and an optional comment, and
:class:`ActionSubmitFeedback` stores them through the handoff service.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.actions_escalation import EscalationAction
from actions.feedback import parse_comment, parse_rating
from actions.handoff_client import HandoffServiceError

logger = logging.getLogger(__name__)


class ValidateFeedbackForm(FormValidationAction):  # type: ignore[misc]  # rasa-sdk ships no types
    """Check the rating; the comment is masked and may be left out."""

    def name(self) -> str:
        return "validate_feedback_form"

    def validate_feedback_rating(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A whole number 1–5 (kept as text in the slot); anything else is asked again."""
        rating = parse_rating(str(value or ""))
        if rating is None:
            dispatcher.utter_message(response="utter_feedback_rating_unclear")
            return {"feedback_rating": None}
        return {"feedback_rating": str(rating)}

    def validate_feedback_comment(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The comment ("" when the resident has none)."""
        return {"feedback_comment": parse_comment(str(value or ""))}


class ActionSubmitFeedback(EscalationAction):
    """Store the feedback; thank the resident whether or not the service answered."""

    def name(self) -> str:
        return "action_submit_feedback"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        rating = int(tracker.get_slot("feedback_rating"))
        comment = tracker.get_slot("feedback_comment") or None
        try:
            self.client().send_feedback(rating, comment, tracker.sender_id)
        except HandoffServiceError as error:
            logger.warning("feedback not stored: %s", error)
            dispatcher.utter_message(response="utter_feedback_not_stored")
        else:
            dispatcher.utter_message(response="utter_feedback_thanks")
        return [
            SlotSet("feedback_rating", None),
            SlotSet("feedback_comment", None),
            SlotSet("rating_due", False),
        ]
