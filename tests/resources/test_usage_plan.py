"""Usage plan: wanted only with an api_key route; diff in the config's words."""

from __future__ import annotations

from pathlib import Path

from access_fixtures import ACCESS_CONFIG
from resources.api_fakes import context

from gatewayproxy.resources.usage_plan import UsagePlan


def test_wanted_only_with_an_api_key_route(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path)
    assert UsagePlan("rest_api", "usage_plan_id").wanted(ctx)
    ctx, _ = context(tmp_path, _without_keys())
    assert not UsagePlan("rest_api", "usage_plan_id").wanted(ctx)


def _without_keys() -> str:
    text = ACCESS_CONFIG.replace('auth = "api_key"\n', "")
    return text[:text.index("[api.usage_plan]")] + text[text.index("[[api.routes]]"):]


def test_diff_names_stage_throttle_and_quota(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path)
    ctx.state.record("rest_api", "rest_api_id", "api1")
    plan = UsagePlan("rest_api", "usage_plan_id")
    same = {"id": "p", "apiStages": [{"apiId": "api1", "stage": "live"}],
            "throttle": {"rateLimit": 5.0, "burstLimit": 10},
            "quota": {"limit": 1000, "period": "DAY"}}
    assert plan.diff(ctx, same) == []
    bare = {"id": "p", "apiStages": [{"apiId": "api1", "stage": "old"}],
            "throttle": {"rateLimit": 5.0, "burstLimit": 10}}
    assert [(c.field, c.old, c.new) for c in plan.diff(ctx, bare)] == [
        ("stage", None, "api1:live"), ("stage", "api1:old", None),
        ("quota.limit", None, "1000"), ("quota.period", None, "DAY")]
