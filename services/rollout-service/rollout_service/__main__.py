"""Run rollout-service: `python -m rollout_service` (or the `rollout-service` command)."""

from buybutton.service import serve
from rollout_service.app import create_app
from rollout_service.config import Settings


def main() -> None:
    serve(Settings, create_app)


if __name__ == "__main__":
    main()
