"""Gate decisions per second in-process (GateRules.shows: kill switch, seller, override and
country checks, then the bucket), against a raw loop that only hashes the same strings, measured in this run.
Target: the gate within 2x of raw hashing.

    make bench-gate      (BENCH_GATE_N decisions, default 1 000 000)
Writes bench/results/rollout-gate.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from buybutton.events import RolloutChanged
from buybutton.rollout import GateRules

RESULTS = Path(__file__).parent / "results" / "rollout-gate.json"
SALT = "2014-09-08"
SELLER = "merchant-puddle-and-co"


def raw_hashing(users: list[str]) -> float:
    began = time.perf_counter()
    for user in users:
        int.from_bytes(hashlib.blake2b(f"{SALT}:{user}".encode(), digest_size=8).digest(), "big") % 10_000
    return len(users) / (time.perf_counter() - began)


def gate_decisions(users: list[str]) -> float:
    gate = GateRules.of(
        RolloutChanged(
            rule_name="buy-button",
            correlation_id="buy-button",
            producer="bench",
            countries=["US"],
            percentage_bps=1_000,
            allowed_sellers=[SELLER],
            override_users=["employee-grace"],
            salt=SALT,
            changed_by="bench",
        )
    )
    began = time.perf_counter()
    for user in users:
        gate.shows(user, "US", SELLER)
    return len(users) / (time.perf_counter() - began)


def main() -> None:
    count = int(os.environ.get("BENCH_GATE_N", "1000000"))
    users = [f"user-{n}" for n in range(count)]
    raw = max(raw_hashing(users) for _ in range(3))
    gate = max(gate_decisions(users) for _ in range(3))
    result = {
        "measured_at": datetime.now(UTC).isoformat(),
        "decisions": count,
        "raw_hashing_per_s": round(raw),
        "gate_decisions_per_s": round(gate),
        "gate_slowdown_vs_raw": round(raw / gate, 2),
        "target": "<= 2.0",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"raw hashing     {result['raw_hashing_per_s']:>10} /s")
    print(f"gate decisions  {result['gate_decisions_per_s']:>10} /s")
    print(f"gate is {result['gate_slowdown_vs_raw']}x slower than raw hashing (target <= 2.0)")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
