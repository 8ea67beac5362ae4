"""Kafka plumbing, written once: event codec, idempotent producer, the consume loop with retries
and dead letters, dead-letter replay, and topic provisioning from the registry."""
