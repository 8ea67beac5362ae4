"""tweet-service: merchants' catalogue and product tweets; buyers' timelines with the Buy button."""
