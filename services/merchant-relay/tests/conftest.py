"""Fixtures for merchant-relay's tests."""

# ---- merchant API block: fixtures of relay_api_fixtures.py --------------------------------------
from relay_api_fixtures import api_settings, merchant_issuer, relay_client, tweet_signer

__all__ = ["api_settings", "merchant_issuer", "relay_client", "tweet_signer"]
# ---- end of the merchant API block ----------------------------------------------------------------
