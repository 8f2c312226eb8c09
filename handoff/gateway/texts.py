"""Finnish system messages the chat gateway sends to residents, and the answers it understands."""

from __future__ import annotations

from handoff.queue import CLOSING_MESSAGE

BOT_UNAVAILABLE = (
    "Chat-avustaja ei juuri nyt vastaa. Yritä hetken kuluttua uudelleen. Hätätilanteessa soita 112."
)
TOO_LONG = "Viestisi on liian pitkä. Kirjoita enintään {limit} merkkiä kerrallaan."
TOO_FAST = "Lähetät viestejä nopeammin kuin ehdimme käsitellä. Odota hetki ja lähetä viesti uudelleen."
HETU_REMOVED = (
    "Viestissäsi oli henkilötunnus, joten poistin sen ennen kuin viesti tallentui tai välittyi eteenpäin. "
    "Älä lähetä henkilötunnustasi chatissa: ammattilainen kysyy tarvittavat tiedot turvallisesti, "
    "kun hän ottaa sinuun yhteyttä."
)
TOO_MANY_CONVERSATIONS = (
    "Tästä verkosta on aloitettu juuri nyt hyvin monta uutta keskustelua. Odota hetki ja lataa sivu "
    "uudelleen. Hätätilanteessa soita 112."
)
AGENT_JOINED = "{name} liittyi keskusteluun."
CHAT_ENDED = "Keskustelu päättyi."
AGENT_LOST = (
    "Yhteys ammattilaiseen katkesi. Siirsimme sinut takaisin jonon kärkeen, "
    "ja seuraava vapautuva ammattilainen jatkaa keskustelua."
)
TRANSFER_QUESTION = (
    "Ammattilainen ehdottaa, että keskustelusi siirretään tiimille {team}. "
    "Uusi ammattilainen näkee tämän keskustelun aiemmat viestit. Sopiiko siirto?"
)
TRANSFER_DONE = "Siirsimme keskustelusi tiimille {team}. Odota hetki, ammattilainen vastaa pian."
TRANSFER_DECLINED = "Selvä, keskustelu jatkuu nykyisen ammattilaisen kanssa."
RESIDENT_LEFT = "Asukas aloitti uuden keskustelun eikä enää näe tätä keskustelua."
TRANSFER_ACCEPTED_FOR_AGENT = "Asukas hyväksyi siirron tiimille {team}."
TRANSFER_DECLINED_FOR_AGENT = "Asukas ei halunnut siirtoa."

CONSENT_YES_PAYLOAD = "/transfer_consent_yes"
CONSENT_NO_PAYLOAD = "/transfer_consent_no"
CONSENT_YES = frozenset({CONSENT_YES_PAYLOAD, "kyllä", "kylla", "joo", "sopii", "ok"})
CONSENT_NO = frozenset({CONSENT_NO_PAYLOAD, "ei", "en", "ei sovi", "ei kiitos"})
CONSENT_QUICK_REPLIES = [
    {"content_type": "text", "title": "Kyllä, siirrä", "payload": CONSENT_YES_PAYLOAD},
    {"content_type": "text", "title": "Ei, jatketaan tässä", "payload": CONSENT_NO_PAYLOAD},
]

EMERGENCY_ADVICE = {
    "112": (
        "Jos kyse on hätätilanteesta, soita heti hätänumeroon 112. Älä jää odottamaan vastausta chatissa."
    ),
    "crisis": (
        "Voit puhua tilanteestasi heti MIELI ry:n Kriisipuhelimessa, puhelin 09 2525 0111 "
        "(päivystää ympäri vuorokauden). Jos olet välittömässä vaarassa, soita heti hätänumeroon 112."
    ),
    "116117": (
        "Jos asia ei voi odottaa, soita Päivystysapuun, puhelin 116 117 (maksuton, auki ympäri "
        "vuorokauden). Jos tilanne on hengenvaarallinen tai pahenee nopeasti, soita heti 112."
    ),
    "social": (
        "Sosiaalipäivystys auttaa ympäri vuorokauden, kun yöpaikkaa, ruokaa tai huolenpitoa ei ole: "
        "soita hätänumeroon 112, niin hätäkeskus yhdistää sinut sosiaalipäivystykseen."
    ),
}

QUEUE_CLOSED = CLOSING_MESSAGE


def consent_answer(text: str) -> bool | None:
    """``True``/``False`` if ``text`` answers a transfer question, else ``None``."""
    folded = text.strip().strip(".!").casefold()
    if folded in CONSENT_YES:
        return True
    if folded in CONSENT_NO:
        return False
    return None
