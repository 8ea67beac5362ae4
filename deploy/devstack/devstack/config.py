"""Where the stack keeps things and which ports it uses; every value can be set from the
environment (``DEVSTACK_<NAME>``), so two stacks or a busy machine can coexist."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[3]


def _default_cache_dir() -> Path:
    import os

    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "buybutton-devstack"


class StackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DEVSTACK_", frozen=True)

    host: str = "127.0.0.1"
    kafka_port: int = Field(default=19092, ge=1, le=65535)
    kafka_controller_port: int = Field(default=19093, ge=1, le=65535)
    # merchants' own listener: SASL/SCRAM-SHA-512 credentials, ACLs per merchant
    kafka_merchant_port: int = Field(default=19094, ge=1, le=65535)
    kafka_heap: str = "1g"
    mongo_port: int = Field(default=27027, ge=1, le=65535)
    stripe_port: int = Field(default=12111, ge=1, le=65535)
    # 12112 is stripe-mock's default HTTPS port, which it opens even when given -http-addr
    fake_stripe_port: int = Field(default=12113, ge=1, le=65535)
    fake_stripe_webhook_url: str = ""
    start_timeout_s: float = Field(default=120.0, gt=0)
    cache_dir: Path = Field(default_factory=_default_cache_dir)
    state_dir: Path = REPO_ROOT / ".devstack"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "data"

    def log_file(self, component: str) -> Path:
        return self.logs_dir / f"{component}.log"
