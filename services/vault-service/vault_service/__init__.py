"""vault-service: buyers' shipping and payment references, encrypted per buyer."""
