"""A topic's configs, read and written through aiokafka's admin client.

aiokafka (0.14) has no IncrementalAlterConfigs; its AlterConfigs replaces the whole set of
configs set on a topic. ``dynamic_topic_configs`` reads that set back, so a caller can change a
few keys and send the rest unchanged.
"""

from __future__ import annotations

from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import for_code

DYNAMIC_TOPIC_CONFIG = 1  # DescribeConfigs config_source: set on the topic itself


async def alter_topic_configs(admin: AIOKafkaAdminClient, name: str, configs: dict[str, str]) -> None:
    """Replace the topic's dynamic configs with ``configs`` (AlterConfigs: keys left out revert
    to the broker's defaults)."""
    responses = await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name, configs=configs)])
    for response in responses:
        for code, message, *_ in response.resources:
            if code != 0:
                raise for_code(code)(f"altering {name}: {message}")


async def _config_entries(admin: AIOKafkaAdminClient, name: str) -> list[tuple[Any, ...]]:
    [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
    return [tuple(entry) for resource in response.resources for entry in resource[4]]


async def topic_configs(admin: AIOKafkaAdminClient, name: str) -> dict[str, str]:
    """Every config in force on the topic, whatever its source."""
    return {entry[0]: entry[1] for entry in await _config_entries(admin, name)}


async def dynamic_topic_configs(admin: AIOKafkaAdminClient, name: str) -> dict[str, str]:
    """The configs set on the topic itself (not broker defaults): what AlterConfigs would drop."""
    kept = {}
    for config, value, _read_only, source, *_ in await _config_entries(admin, name):
        # DescribeConfigs v0 answers is_default where later versions answer the source
        set_on_topic = not source if isinstance(source, bool) else source == DYNAMIC_TOPIC_CONFIG
        if not set_on_topic:
            continue
        if value is None:
            raise ValueError(f"{name}: {config} is sensitive and cannot be read back, so it cannot be kept")
        kept[config] = value
    return kept
