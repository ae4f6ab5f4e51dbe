"""Lambda permissions: one statement per route and method; the sweep finds the stack's others."""

from __future__ import annotations

import json
from pathlib import Path

from resources.api_fakes import context

from gatewayproxy.resources import api_access
from gatewayproxy.resources.lambda_permission import LambdaPermission, PermissionSweep

FN = "arn:aws:lambda:eu-west-1:123456789012:function:quiz-hook"


def _policy(statements: dict[str, str]) -> dict:
    return {"Policy": json.dumps({"Statement": [
        {"Sid": sid, "Condition": {"ArnLike": {"AWS:SourceArn": arn}}}
        for sid, arn in statements.items()]})}


def test_found_by_its_statement_id_and_moved_source_is_a_replacement(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path)
    ctx.state.record("rest_api", "rest_api_id", "api1")
    route = next(r for r in ctx.config.routes if r.function)
    permission = LambdaPermission("rest_api", "permission POST /hook", route=route, method="POST")
    sid = api_access.statement_id(ctx, route, "POST")
    assert permission.find(ctx) is None
    aws.answers["get_policy"] = _policy({sid: "arn:old"})
    found = permission.find(ctx)
    assert found == {"function": FN, "sid": sid, "source_arn": "arn:old"}
    [change] = permission.diff(ctx, found)
    assert change.field in permission.FORCE_NEW


def test_create_records_the_function_before_the_add(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path)
    ctx.state.record("rest_api", "rest_api_id", "api1")
    route = next(r for r in ctx.config.routes if r.function)
    seen = []
    aws.answers["add_permission"] = lambda params: seen.append(
        ctx.state.get("rest_api", "lambda_functions")) or {}
    LambdaPermission("rest_api", "p", route=route, method="POST").create(ctx)
    assert seen == [[FN]]


def test_sweep_lists_only_statements_no_route_wants(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path)
    ctx.state.record("rest_api", "rest_api_id", "api1")
    route = next(r for r in ctx.config.routes if r.function)
    sid = api_access.statement_id(ctx, route, "POST")
    wanted = api_access.source_arn(ctx, "api1", route, "POST")
    aws.answers["get_policy"] = _policy({sid: wanted, "gatewayproxy-quizapi--GET-x": "arn:x",
                                         "someone-else": "arn:y"})
    sweep = PermissionSweep("rest_api", "lambda_permission_sweep")
    assert [s["sid"] for s in sweep.stale(ctx)] == ["gatewayproxy-quizapi--GET-x"]
    assert not sweep.wanted(ctx)
