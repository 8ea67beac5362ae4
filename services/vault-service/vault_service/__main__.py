"""Run vault-service: `python -m vault_service` (or the `vault-service` command)."""

from buybutton.service import serve
from vault_service.app import create_app
from vault_service.config import Settings


def main() -> None:
    serve(Settings, create_app)


if __name__ == "__main__":
    main()
