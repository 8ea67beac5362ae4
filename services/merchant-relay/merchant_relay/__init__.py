"""merchant-relay: forwards paid orders to merchants by topic or signed webhook."""
