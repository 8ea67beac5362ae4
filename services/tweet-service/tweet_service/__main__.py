"""Run tweet-service: `python -m tweet_service` (or the `tweet-service` command)."""

from buybutton.service import serve
from tweet_service.app import create_app
from tweet_service.config import Settings


def main() -> None:
    serve(Settings, create_app)


if __name__ == "__main__":
    main()
