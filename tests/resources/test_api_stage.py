"""API stage: the hash halves say what changed; a renamed stage leaves the old one as stale."""

from __future__ import annotations

from pathlib import Path

from resources.api_fakes import context, not_found

from gatewayproxy.resources import api_stage
from gatewayproxy.resources import rest_api as api


def _stage() -> api_stage.ApiStage:
    return api_stage.ApiStage("rest_api", "deployment_id")


def test_same_hash_no_change_settings_half_names_settings(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path)
    ctx.state.record("rest_api", "rest_api_id", "api1")
    digest = api.digest(ctx)
    found = {"description": api.MARKER + digest, "deploymentId": "d1"}
    aws.answers["get_stage"] = found
    assert _stage().diff(ctx, found) == []
    routes = digest.split(".")[0]
    ctx.outputs.publish("rest_api._cache", {"stage:api1": {
        "description": f"{api.MARKER}{routes}.00000000", "deploymentId": "d1"}})
    assert [c.field for c in _stage().diff(ctx, found)] == ["settings"]


def test_a_renamed_stage_leaves_the_old_one_stale(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path, get_stages={"item": [{"stageName": "live"},
                                                      {"stageName": "prod"}]})
    ctx.state.record("rest_api", "rest_api_id", "api1")
    stage = _stage()
    assert [stage.stale_name(ctx, s) for s in stage.stale(ctx)] == ["prod"]


def test_stale_stages_of_a_deleted_api_are_none(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path, get_stages=not_found("GetStages"))
    ctx.state.record("rest_api", "rest_api_id", "gone")
    assert _stage().stale(ctx) == []
