"""The REST API and the access log group: found by state id, then tag; ours only."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from resources.api_fakes import context, not_found

from gatewayproxy.errors import GatewayProxyError
from gatewayproxy.resources import rest_api as api
from gatewayproxy.resources.access_log_group import AccessLogGroup


def test_found_by_id_then_by_the_stacks_tag(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path, get_rest_api=not_found("GetRestApi"), get_rest_apis={"items": [
        {"id": "theirs", "tags": {"gatewayproxy:stack": "other"}},
        {"id": "ours", "tags": {"gatewayproxy:stack": "quizapi"}}]})
    ctx.state.record("rest_api", "rest_api_id", "gone")
    assert api.RestApi("rest_api", "rest_api_id").find(ctx)["id"] == "ours"  # type: ignore[index]
    assert [op for op, _ in aws.sent] == ["get_rest_api", "get_rest_apis"]


def test_paths_parents_first_without_root(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path)
    assert api.wanted_paths(ctx) == ["/admin", "/answers", "/hook", "/teams", "/teams/{team}"]


def test_a_log_group_not_ours_is_refused_when_wanted_and_left_when_not(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path, describe_log_groups={"logGroups": [
        {"logGroupName": "/gatewayproxy/quizapi/access"}]}, list_tags_log_group={"tags": {}})
    logs = AccessLogGroup("rest_api", "access_log_group")
    with pytest.raises(GatewayProxyError, match="not stack quizapi's"):
        logs.find(ctx)
    ctx.config = dataclasses.replace(ctx.config, access_logs=False)
    assert logs.find(ctx) is None
