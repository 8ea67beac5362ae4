"""Schema-driven fuzzing shared by the API fuzzing tests: every operation of a running service's
OpenAPI document (schemathesis), in positive cases (valid by the schema) and negative ones (extra
fields, wrong types, out-of-range numbers, long strings), each answered through the test's own
``call``; the statuses answered per (operation, mode) are counted and printed as figures."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode


def fuzz_settings(max_examples: int) -> settings:
    """Bounded and repeatable: the same cases each run, no example database, no health checks."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,
    )


FUZZ = fuzz_settings(25)
Call = Callable[[schemathesis.Case, GenerationMode], Any]
Statuses = dict[tuple[str, GenerationMode], Counter[int]]


def fuzz_every_operation(schema: Any, call: Call, *, fuzz: settings = FUZZ) -> Statuses:
    """Run ``call`` (which answers the response) on positive and negative cases of every
    operation of ``schema``; the statuses answered per (operation, mode), printed as figures."""
    statuses: Statuses = defaultdict(Counter)

    def run(operation: Any, mode: GenerationMode) -> None:
        @fuzz
        @given(case=operation.as_strategy(generation_mode=mode))
        def one_case(case: schemathesis.Case) -> None:
            statuses[(f"{case.method} {case.path}", mode)][call(case, mode).status_code] += 1

        try:
            one_case()
        except Unsatisfiable:  # nothing of the operation can be made invalid (no input at all)
            assert mode is GenerationMode.NEGATIVE, operation

    for operation in [result.ok() for result in schema.get_all_operations()]:
        for mode in GenerationMode:
            run(operation, mode)
    for mode in GenerationMode:
        total = sum((c for (_, m), c in statuses.items() if m == mode), Counter[int]())
        print(f"\n{mode.value}: {sum(total.values())} requests, by status {dict(sorted(total.items()))}")
    return statuses


def assert_each_operation_succeeds_and_refuses(statuses: Statuses, *, never_refused: set[str]) -> None:
    for (operation, mode), answered in statuses.items():
        if mode is GenerationMode.POSITIVE:
            assert any(200 <= s < 300 for s in answered), f"{operation}: no success in {dict(answered)}"
        elif operation not in never_refused:
            assert any(400 <= s < 500 for s in answered), f"{operation}: nothing refused in {dict(answered)}"
