"""The task execution role: ECS pulls the image and writes the container's logs with it.

IAM is global, the rest of the stack regional: the role is named and tagged per region (see
role_name), so the same stack name in two regions never shares, or deletes, one role.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy import arns
from gatewayproxy.context import Context, tag_value
from gatewayproxy.errors import NotOurs
from gatewayproxy.resources.base import FieldChange, Found, Health, Resource

EXECUTION_POLICY = arns.managed_policy("service-role/AmazonECSTaskExecutionRolePolicy")
# IAM is global, the rest of the stack is regional: the role says which region's stack owns it.
REGION_TAG = "gatewayproxy:region"
LEGACY_KEY = "legacy_execution_role"


def trust_policy(account_id: str) -> dict[str, Any]:
    """ECS tasks may assume the role, and only for this account (no confused deputy)."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow",
                       "Principal": {"Service": arns.service_principal("ecs-tasks")},
                       "Action": "sts:AssumeRole",
                       "Condition": {"StringEquals": {"aws:SourceAccount": account_id}}}],
    }


def role_name(ctx: Context) -> str:
    """One role per region's stack: IAM names are account-wide, so the same stack name in two
    regions must not share (and delete) one role. At most 13 + 23 + 1 + 15 + 10 = 62 of IAM's
    64 characters (longest stack name, longest region name: see the tests). Earlier versions
    named it after the stack alone (`gatewayproxy-<stack>-execution`): see ExecutionRole.record."""
    return ctx.name(f"{ctx.aws.region}-execution")


def owns_role(ctx: Context, tags: Any, legacy: bool = False) -> bool:
    """Ours: this stack's tag and this region's (a legacy role carries no region tag)."""
    return ctx.owns(tags) and tag_value(tags, REGION_TAG) == (None if legacy else ctx.aws.region)


def find_role(ctx: Context, memo: str, strict: bool = True) -> Found | None:
    """Our regional role, or None; looked up once per command (`check`, then `up`), the answer
    kept in ctx.outputs under `memo`. A role of our name that is not ours stops the command
    (`strict`: `check` before `up` and `plan`); `down` leaves it alone (None)."""
    known: Found | None = ctx.outputs.get(memo)
    if known is None:
        name = role_name(ctx)
        found = ctx.aws.find("iam", "get_role", RoleName=name)
        known = dict(found["Role"]) if found else {}
        if known:
            tags = ctx.aws.call("iam", "list_role_tags", RoleName=name)["Tags"]
            known["ours"] = owns_role(ctx, tags)
        ctx.outputs.publish(memo, known)
    if known and not known["ours"]:
        if strict:
            raise NotOurs(f"IAM role {known['RoleName']} exists but is not tagged as "
                                    f"stack {ctx.stack}'s in {ctx.aws.region}; rename the stack "
                                    "or remove the role")
        return None
    return known or None


@dataclass
class ExecutionRole(Resource):
    """Trusts ECS tasks of this account only; the AWS-managed execution policy attached (ECR
    pull, CloudWatch Logs writes: nothing else)."""

    kind: ClassVar[str] = "IAM role"

    @property
    def memo(self) -> str:
        return f"{self.step}.role"

    def name(self, ctx: Context) -> str:
        return role_name(ctx)

    def identity(self, found: Found) -> Any:
        return found["RoleName"]

    def find(self, ctx: Context) -> Found | None:
        """Not strict: the step's `check` stopped `up` and `plan` on a role that is not ours."""
        return find_role(ctx, self.memo, strict=False)

    def record(self, ctx: Context, found: Found) -> None:
        """A stack made by an earlier version recorded the stack-wide role: it moves to its own
        role (the new task-definition revision names it, the service rolls onto it). The old
        role stays until `down`: tasks of the old revision may still run or be rolled back to."""
        recorded = self.recorded(ctx)
        if recorded and recorded != found["RoleName"]:
            ctx.state.record(self.step, LEGACY_KEY, recorded)
            ctx.report(self.step, f"moving to the regional execution role {found['RoleName']}; "
                                  f"`down` deletes the old {recorded} unless another region "
                                  "used it last")
        super().record(ctx, found)

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        attached = ctx.aws.call("iam", "list_attached_role_policies",
                                RoleName=found["RoleName"])["AttachedPolicies"]
        if EXECUTION_POLICY in {p["PolicyArn"] for p in attached}:
            return []
        return [FieldChange("managed policy", None, EXECUTION_POLICY.rsplit("/", 1)[-1])]

    def create(self, ctx: Context) -> Found:
        role = dict(ctx.aws.call(
            "iam", "create_role", RoleName=role_name(ctx),
            AssumeRolePolicyDocument=json.dumps(trust_policy(ctx.aws.account_id)),
            Description=f"gatewayproxy {ctx.stack} in {ctx.aws.region}: lets ECS pull the image "
                        "and write logs",
            Tags=[*ctx.tag_list(self.step, "execution-role"),
                  {"Key": REGION_TAG, "Value": ctx.aws.region}],
        )["Role"])
        self.record(ctx, role)
        ctx.outputs.publish(self.memo, {**role, "ours": True})
        return self.update(ctx, role, [])

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        ctx.aws.call("iam", "attach_role_policy", RoleName=found["RoleName"],
                     PolicyArn=EXECUTION_POLICY)
        return found

    def publish(self, ctx: Context, found: Found) -> None:
        ctx.outputs.publish(f"{self.step}.role_arn", found["Arn"])

    def delete(self, ctx: Context, found: Found) -> None:
        delete_role(ctx, found["RoleName"])
        ctx.outputs.publish(self.memo, {})

    def forget(self, ctx: Context) -> None:
        """`down`: the role is gone; the legacy role goes too, but only if this stack's state
        names it (another region's stack of the same name may still use a legacy role it
        never recorded here), and not while IAM saw it last used in another region."""
        for name in sorted({self.recorded(ctx), ctx.state.get(self.step, LEGACY_KEY)}
                           - {None, role_name(ctx)}):
            self._delete_legacy(ctx, name)
        ctx.state.forget(self.step, LEGACY_KEY)
        super().forget(ctx)

    def _delete_legacy(self, ctx: Context, name: str) -> None:
        found = ctx.aws.find("iam", "list_role_tags", RoleName=name)
        if found is None or not owns_role(ctx, found["Tags"], legacy=True):
            return
        if used := _last_used_elsewhere(ctx, name):
            ctx.report(self.step, f"kept the earlier version's role {name}: last used in {used}, "
                                  "where a stack of the same name may still run on it; delete "
                                  "it once none does")
            return
        delete_role(ctx, name)

    def health(self, ctx: Context, found: Found) -> Health:
        return Health(True, f"IAM role {found['RoleName']}")


def delete_role(ctx: Context, name: str) -> None:
    """Detach the managed policy (IAM refuses to delete a role with policies attached)."""
    ctx.aws.find("iam", "detach_role_policy", RoleName=name, PolicyArn=EXECUTION_POLICY)
    ctx.aws.find("iam", "delete_role", RoleName=name)


def _last_used_elsewhere(ctx: Context, name: str) -> str | None:
    """The other region a legacy (stack-wide) role was last used in, if any: the same stack name
    there, still on an earlier version, shares it (IAM's RoleLastUsed.Region, GetRole)."""
    found = ctx.aws.find("iam", "get_role", RoleName=name)
    region = ((found or {}).get("Role", {}).get("RoleLastUsed") or {}).get("Region")
    return str(region) if region and region != ctx.aws.region else None
