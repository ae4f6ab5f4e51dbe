"""The stack's usage plan: the per-key limits of the api_key routes, bound to the stage. Wanted
only while a route uses api_key auth. Its keys are made by `gatewayproxy keys`, not by `up`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy.context import Context
from gatewayproxy.resources import api_access
from gatewayproxy.resources import rest_api as api
from gatewayproxy.resources.base import FieldChange, Found, Resource


@dataclass
class UsagePlan(Resource):
    kind: ClassVar[str] = "usage plan"

    def name(self, ctx: Context) -> str:
        return ctx.name("plan")

    def wanted(self, ctx: Context) -> bool:
        return ctx.config.uses_api_keys

    def identity(self, found: Found) -> Any:
        return found["id"]

    def find(self, ctx: Context) -> Found | None:
        return api_access.find_usage_plan(ctx)

    def _patch(self, ctx: Context, found: Found) -> list[dict[str, str]]:
        throttle, quota = api_access._wanted_plan(ctx)
        stage = {"apiId": str(api.api_id(ctx)), "stage": ctx.config.stage}
        return api_access._plan_patch(found, stage, throttle, quota)

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        """In the config's words: the stage it is bound to, its throttle and quota."""
        changes = []
        for op in self._patch(ctx, found):
            field = op["path"].strip("/").replace("/", ".")
            if field == "apiStages":
                if op["op"] == "add":
                    changes.append(FieldChange("stage", None, op["value"]))
                else:
                    changes.append(FieldChange("stage", op["value"], None))
                continue
            section, _, key = field.partition(".")
            old = (found.get(section) or {}).get(key) if key else found.get(section)
            changes.append(FieldChange(field, old, op.get("value")))
        return changes

    def create(self, ctx: Context) -> Found:
        throttle, quota = api_access._wanted_plan(ctx)
        params: dict[str, Any] = {"quota": quota} if quota else {}
        plan = ctx.aws.call("apigateway", "create_usage_plan", name=ctx.name("plan"),
                            description=f"gatewayproxy {ctx.stack}: limits for API keys",
                            apiStages=[{"apiId": api.api_id(ctx), "stage": ctx.config.stage}],
                            throttle=throttle, tags=ctx.tags(api.STEP, "usage-plan"), **params)
        self.record(ctx, plan)
        return dict(plan)

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        ops = self._patch(ctx, found)
        return dict(ctx.aws.call("apigateway", "update_usage_plan", usagePlanId=found["id"],
                                 patchOperations=ops))

    def delete(self, ctx: Context, found: Found) -> None:
        """AWS refuses to delete a plan still bound to a stage: unbind, then delete."""
        stages = found.get("apiStages") or []
        if stages:
            ctx.aws.find("apigateway", "update_usage_plan", usagePlanId=found["id"],
                         patchOperations=[{"op": "remove", "path": "/apiStages",
                                           "value": f"{s['apiId']}:{s['stage']}"}
                                          for s in stages])
        ctx.aws.find("apigateway", "delete_usage_plan", usagePlanId=found["id"])
