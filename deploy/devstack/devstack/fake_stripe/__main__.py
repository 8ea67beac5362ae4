"""``python -m devstack.fake_stripe``: serve the fake Stripe with uvicorn (h11, one process).

Options override the ``FAKE_STRIPE_*`` environment variables (settings.py). State lives in
memory: stopping or restarting the process forgets every object, key and counter.
"""

from __future__ import annotations

import argparse
import sys

import uvicorn

from devstack.fake_stripe.app import create_app
from devstack.fake_stripe.settings import FakeStripeSettings


def main(argv: list[str] | None = None) -> None:
    defaults = FakeStripeSettings()
    parser = argparse.ArgumentParser(prog="python -m devstack.fake_stripe", description=__doc__)
    parser.add_argument("--host", default=defaults.host)
    parser.add_argument("--port", type=int, default=defaults.port)
    parser.add_argument("--webhook-url", default=defaults.webhook_url, help="where events are POSTed")
    parser.add_argument(
        "--webhook-secret", default=defaults.webhook_secret, help="the endpoint's signing secret"
    )
    parser.add_argument("--log-level", default=defaults.log_level)
    args = parser.parse_args(argv)
    try:
        settings = FakeStripeSettings(
            host=args.host,
            port=args.port,
            webhook_url=args.webhook_url,
            webhook_secret=args.webhook_secret,
            log_level=args.log_level,
        )
    except ValueError as problem:
        parser.exit(2, f"fake-stripe: {problem}\n")
    print(
        f"fake-stripe: serving http://{settings.host}:{settings.port} (state in memory)",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        http="h11",
        lifespan="on",
        access_log=False,
        log_level=settings.log_level,
    )


if __name__ == "__main__":
    main()
