"""rollout-service: the rollout gate's rules, on a compacted topic."""
