"""checkout-service: orders, stock held for sale, payments through Stripe."""
