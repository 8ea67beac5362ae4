"""The shared RulesReplica of ``rollout.rules.v1`` (the very one tweet-service decides with),
plus what the admin API needs on top: a future per pending command, resolved when the event
it caused arrives.

Consumes: rollout.rules.v1, from the beginning, without a consumer group. Produces: nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any

from buybutton.events import RolloutChanged
from buybutton.rollout_replica import RulesReplica


class RulesWatch(RulesReplica):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: dict[str, asyncio.Future[RolloutChanged]] = {}
        self.listeners.append(self._resolve)

    def expect(self, command_id: str) -> asyncio.Future[RolloutChanged]:
        """A future for the event the command will cause; ask before sending the command."""
        future: asyncio.Future[RolloutChanged] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = future
        return future

    def forget(self, command_id: str) -> None:
        self._pending.pop(command_id, None)

    def _resolve(self, event: RolloutChanged) -> None:
        future = self._pending.pop(event.causation_id or "", None)
        if future is not None and not future.done():
            future.set_result(event)
