"""API method and API resource: diff in the config's words, finds that read nothing when the
stage's hash says all is deployed, stale paths and methods."""

from __future__ import annotations

from pathlib import Path

from resources.api_fakes import context

from gatewayproxy.resources import api_route
from gatewayproxy.resources import rest_api as api
from gatewayproxy.resources.base import FieldChange


def _method(ctx, path: str, verb: str) -> api_route.ApiMethod:
    route = next(r for r in ctx.config.routes if r.path == path)
    return api_route.ApiMethod("rest_api", api_route.method_key(verb, path), route=route,
                               method=verb, sweeps=True)


def _as_aws(spec: dict) -> dict:
    """What get_method answers for a method put with `spec`."""
    integration = {k: v for k, v in spec["integration"].items() if k != "integrationHttpMethod"}
    return {**spec["method"], "resourceId": "r1",
            "methodIntegration": {**integration,
                                  "httpMethod": spec["integration"]["integrationHttpMethod"]}}


def test_an_auth_change_is_one_field_in_the_configs_words(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path)
    answers = _method(ctx, "/answers", "GET")
    current = _as_aws(answers._want(ctx))
    assert answers.diff(ctx, current) == []
    current["apiKeyRequired"] = True
    assert answers.diff(ctx, current) == [FieldChange("auth", "api_key", "none")]


def test_a_target_change_names_the_function(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path)
    hook = _method(ctx, "/hook", "POST")
    service = _as_aws(_method(ctx, "/answers", "GET")._want(ctx))
    assert hook.diff(ctx, service) == [FieldChange("target", "service", "lambda:quiz-hook")]


def test_a_moved_vpc_link_is_an_integration_change(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path)
    answers = _method(ctx, "/answers", "GET")
    current = _as_aws(answers._want(ctx))
    current["methodIntegration"]["connectionId"] = "old-link"
    assert answers.diff(ctx, current) == [FieldChange("integration", "connectionId",
                                                      "as in the config")]


def test_in_sync_stage_means_no_method_is_read(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path)
    ctx.state.record("rest_api", "rest_api_id", "api1")
    aws.answers["get_stage"] = {"description": api.MARKER + api.digest(ctx), "deploymentId": "d"}
    assert _method(ctx, "/answers", "GET").find(ctx) == api_route.IN_SYNC
    assert [op for op, _ in aws.sent] == ["get_stage"]


def test_stale_methods_and_topmost_stale_paths(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path)
    ctx.state.record("rest_api", "rest_api_id", "api1")
    aws.answers["get_resources"] = {"items": [
        {"path": "/", "id": "root"},
        {"path": "/answers", "id": "a", "resourceMethods": {"GET": {}, "DELETE": {}}},
        {"path": "/old", "id": "o", "resourceMethods": {"GET": {}}},
        {"path": "/old/deep", "id": "od"}]}
    method = _method(ctx, "/answers", "GET")
    assert [method.stale_name(ctx, s) for s in method.stale(ctx)] == ["DELETE /answers", "GET /old"]
    paths = api_route.ApiResource("rest_api", api_route.path_key("/admin"), path="/admin",
                                  sweeps=True)
    assert [s["path"] for s in paths.stale(ctx)] == ["/old"]  # its child goes with it


def test_no_api_yet_means_nothing_exists(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path, get_rest_apis={"items": []})
    assert _method(ctx, "/answers", "GET").find(ctx) is None
    assert [op for op, _ in aws.sent] == ["get_rest_apis"]
