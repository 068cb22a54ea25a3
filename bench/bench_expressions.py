"""Benchmark: compiled expressions and conditions evaluate fast, and are parsed once.

Run: ``python bench/bench_expressions.py``. Prints a small table of per-evaluation times and
the parse counters before/after a loop of evaluations (they must not grow with the loop).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from weft.expressions import (
    EvalContext,
    compile_criterion,
    compile_value,
    evaluate_criteria,
    parse_counts,
    parse_expression,
)

TARGET_US = 5.0
_RUNS = [0]


def per_call_us(fn: Callable[[], object], n: int = 200_000, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, time.perf_counter() - start)
        _RUNS[0] += n
    return best / n * 1e6


def main() -> None:
    ctx = EvalContext(
        status_code=200,
        response_body={"status": "succeeded", "id": "wf-1", "steps": [{"jobs": [{"cost": 3}]}]},
        response_headers={"content-type": "application/json"},
        inputs={"apiKey": "k", "prompt": "a cat", "quantity": 2},
        steps={"submit": {"workflowId": "wf-1"}},
    )
    before = parse_counts()
    simple = compile_criterion("$statusCode == 200 && $response.body#/status == 'succeeded'")
    jsonpath = compile_criterion(
        "$.status == 'processing' || $.status == 'succeeded'",
        kind="jsonpath",
        context="$response.body",
    )
    regex = compile_criterion(r"^2\d{2}$", kind="regex", context="$statusCode")
    expr = parse_expression("$response.body#/steps/0/jobs/0/cost")
    header = compile_value("Bearer $inputs.apiKey")
    payload = compile_value(
        {"prompt": "$inputs.prompt", "quantity": "$inputs.quantity", "seed": "$inputs.seed"}
    )
    criteria = [simple, regex]
    compiled = parse_counts()

    assert simple.evaluate(ctx).passed and jsonpath.evaluate(ctx).passed
    rows = [
        ("simple condition (2 comparisons)", per_call_us(lambda: simple.evaluate(ctx))),
        ("expression with 5-token pointer", per_call_us(lambda: expr.evaluate(ctx))),
        ("bare template 'Bearer $inputs.apiKey'", per_call_us(lambda: header.evaluate(ctx))),
        ("payload object (3 members, 1 absent)", per_call_us(lambda: payload.evaluate(ctx))),
        ("regex condition", per_call_us(lambda: regex.evaluate(ctx), n=100_000)),
        ("criteria list (simple AND regex)", per_call_us(lambda: evaluate_criteria(criteria, ctx))),
        (
            "jsonpath logical-expression condition",
            per_call_us(lambda: jsonpath.evaluate(ctx), n=5_000),
        ),
    ]
    after = parse_counts()

    width = max(len(name) for name, _ in rows)
    print(f"{'case':<{width}}  µs/eval")
    print(f"{'-' * width}  -------")
    for name, us in rows:
        print(f"{name:<{width}}  {us:7.2f}")
    print()
    evaluations = _RUNS[0]
    print("parses (expressions, conditions)")
    print(
        f"  at compile : {compiled['expressions'] - before['expressions']:>4} "
        f"{compiled['conditions'] - before['conditions']:>4}"
    )
    print(
        f"  after ~{evaluations:,} evaluations: {after['expressions'] - before['expressions']:>4} "
        f"{after['conditions'] - before['conditions']:>4}"
    )
    simple_us = rows[0][1]
    verdict = "OK" if simple_us <= TARGET_US else "OVER TARGET"
    print(f"\nsimple condition: {simple_us:.2f} µs (target ≤ {TARGET_US} µs) {verdict}")
    if after != compiled:
        raise SystemExit("parse count grew during evaluation")


if __name__ == "__main__":
    main()
