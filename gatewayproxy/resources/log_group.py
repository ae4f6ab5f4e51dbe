"""A CloudWatch log group of the stack (the container's), found by name and checked against
the stack's tag; kept 30 days (steps/log_groups.py: the rules shared with the access log)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy.context import Context
from gatewayproxy.errors import AwsError
from gatewayproxy.resources import log_groups
from gatewayproxy.resources.base import FieldChange, Found, Health, Resource


@dataclass
class LogGroup(Resource):
    """`group`: the group's name for this stack (a function of the context); `tag`: its
    resource tag."""

    group: Any = None
    tag: str = "log-group"
    kind: ClassVar[str] = "log group"

    def name(self, ctx: Context) -> str:
        return str(self.group(ctx))

    def identity(self, found: Found) -> Any:
        return found["logGroupName"]

    def find(self, ctx: Context) -> Found | None:
        return log_groups.find_ours(ctx, self.name(ctx))

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        days = found.get("retentionInDays")
        return ([] if days == log_groups.RETENTION_DAYS
                else [FieldChange("retention_days", days, log_groups.RETENTION_DAYS)])

    def create(self, ctx: Context) -> Found:
        name = self.name(ctx)
        try:
            ctx.aws.call("logs", "create_log_group", logGroupName=name,
                         tags=ctx.tags(self.step, self.tag))
        except AwsError as exc:
            if exc.code != "ResourceAlreadyExistsException":  # a crash after the create
                raise
        found = {"logGroupName": name}
        self.record(ctx, found)
        return self.update(ctx, found, [])

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        log_groups.keep_for_retention(ctx, found["logGroupName"])
        return {**found, "retentionInDays": log_groups.RETENTION_DAYS}

    def delete(self, ctx: Context, found: Found) -> None:
        ctx.aws.find("logs", "delete_log_group", logGroupName=found["logGroupName"])

    def health(self, ctx: Context, found: Found) -> Health:
        return Health(True, f"log group {found['logGroupName']}",
                      {"retention_days": found.get("retentionInDays")})
