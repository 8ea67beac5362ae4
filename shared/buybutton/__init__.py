"""Contracts and plumbing shared by every Buy Button service.

Published contracts: ``buybutton.events`` (one pydantic model per event) and
``buybutton.topics`` (the topic registry). Plumbing: ``buybutton.kafka`` (producer, consume
loop, dead letters, provisioning), ``buybutton.settings`` and ``buybutton.logging``.
No business logic lives here.
"""
