"""The API's access log group, wanted only with api.access_logs. (A minimal kind of its own: the
container's log group is ported separately; the two may share one log group kind later.)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy.context import Context
from gatewayproxy.errors import NotOurs
from gatewayproxy.resources import api_access, log_groups
from gatewayproxy.resources.base import FieldChange, Found, Resource


@dataclass
class AccessLogGroup(Resource):
    kind: ClassVar[str] = "log group"

    def name(self, ctx: Context) -> str:
        return api_access.access_log_group(ctx)

    def wanted(self, ctx: Context) -> bool:
        return ctx.config.access_logs

    def identity(self, found: Found) -> Any:
        return found["logGroupName"]

    def find(self, ctx: Context) -> Found | None:
        """By its name, checked against the stack's tag (a same-named group not ours: refused)."""
        found = log_groups.find(ctx, self.name(ctx))
        if found is None:
            return None
        tags = ctx.aws.call("logs", "list_tags_log_group", logGroupName=self.name(ctx))["tags"]
        if not ctx.owns(tags):
            if not self.wanted(ctx):
                return None  # not ours: left alone
            raise NotOurs(f"log group {self.name(ctx)} exists but is not stack "
                                    f"{ctx.stack}'s")
        return dict(found)

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        days = found.get("retentionInDays")
        return [] if days == log_groups.RETENTION_DAYS else [
            FieldChange("retention_days", days, log_groups.RETENTION_DAYS)]

    def create(self, ctx: Context) -> Found:
        log_groups.ensure(ctx, self.step, self.key, self.name(ctx), "access-log-group")
        return {"logGroupName": self.name(ctx), "retentionInDays": log_groups.RETENTION_DAYS}

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        ctx.aws.call("logs", "put_retention_policy", logGroupName=self.name(ctx),
                     retentionInDays=log_groups.RETENTION_DAYS)
        return {**found, "retentionInDays": log_groups.RETENTION_DAYS}

    def delete(self, ctx: Context, found: Found) -> None:
        ctx.aws.find("logs", "delete_log_group", logGroupName=found["logGroupName"])
