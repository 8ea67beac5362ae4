"""Run checkout-service: `python -m checkout_service` (or the `checkout-service` command)."""

from buybutton.service import serve
from checkout_service.app import create_app
from checkout_service.config import Settings


def main() -> None:
    serve(Settings, create_app)


if __name__ == "__main__":
    main()
