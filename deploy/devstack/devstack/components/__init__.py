"""The stack's components, in start order."""

from devstack.components.base import Component, MissingTool
from devstack.components.fake_stripe import FakeStripe
from devstack.components.kafka import Kafka
from devstack.components.secantusdb import SecantusDB
from devstack.components.stripe_mock import StripeMock

__all__ = ["Component", "FakeStripe", "Kafka", "MissingTool", "SecantusDB", "StripeMock"]
