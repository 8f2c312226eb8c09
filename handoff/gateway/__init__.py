"""The chat gateway: residents' socket.io connections, the bot (Rasa) and the live chat relay.

See :mod:`handoff.gateway.hub` for the server and docs/handoff.md ("Live chat")
for the protocol.
"""
