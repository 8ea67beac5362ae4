"""Run merchant-relay: `python -m merchant_relay` (or the `merchant-relay` command)."""

from buybutton.service import serve
from merchant_relay.app import create_app
from merchant_relay.config import Settings


def main() -> None:
    serve(Settings, create_app)


if __name__ == "__main__":
    main()
