"""The Fargate task definition: one family per stack, a new revision per change.

A change of image, cpu, memory, port, environment, secrets, registry credentials or
architecture is an update (RegisterTaskDefinition makes
the next revision of the family); the service rolls onto it. `down` deregisters every ACTIVE
revision of the family.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy.context import Context
from gatewayproxy.errors import AwsError, NotOurs
from gatewayproxy.resources.base import UNKNOWN, FieldChange, Found, Health, Resource


def family(ctx: Context) -> str:
    return ctx.name("app")


def log_group(ctx: Context) -> str:
    return f"/gatewayproxy/{ctx.stack}"


def container_definition(ctx: Context) -> dict[str, Any]:
    """The one container, exactly as we send it (and compare it on the next run)."""
    cfg = ctx.config
    return {
        "name": cfg.container_name,
        "image": cfg.image,
        "essential": True,
        "portMappings": [{"containerPort": cfg.port, "protocol": "tcp"}],
        "environment": [{"name": k, "value": v} for k, v in sorted(cfg.environment.items())],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": log_group(ctx), "awslogs-region": ctx.aws.region,
                        "awslogs-stream-prefix": "app"},
        },
        **container_options(ctx),
    }


def container_options(ctx: Context) -> dict[str, Any]:
    """`secrets` (name and ARN, never a value: ECS reads the value when a task starts) and
    `repositoryCredentials`, only when the config has them, so a definition without them
    compares equal to one registered before these options existed."""
    cfg = ctx.config
    options: dict[str, Any] = {}
    if cfg.secrets:
        options["secrets"] = [{"name": k, "valueFrom": v} for k, v in sorted(cfg.secrets.items())]
    if cfg.registry_credentials:
        options["repositoryCredentials"] = {"credentialsParameter": cfg.registry_credentials}
    return options


def runtime_platform(ctx: Context) -> dict[str, Any]:
    """`runtimePlatform` for arm64 only: x86_64 Linux is Fargate's default when it is absent
    (RegisterTaskDefinition, runtimePlatform), so the task definitions of stacks made before
    this option keep comparing equal (no new revision, no redeployment)."""
    if ctx.config.architecture != "arm64":
        return {}
    return {"runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}}


def desired_task_definition(ctx: Context, role_arn: str) -> dict[str, Any]:
    cfg = ctx.config
    return {
        "family": family(ctx),
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": str(cfg.cpu),
        "memory": str(cfg.memory),
        "executionRoleArn": role_arn,
        "containerDefinitions": [container_definition(ctx)],
        **runtime_platform(ctx),
    }


def latest(ctx: Context, of: str) -> Found | None:
    """The family's (or one revision's) ACTIVE definition, or None; a family of our name that
    is not ours stops the command."""
    try:
        found = ctx.aws.call("ecs", "describe_task_definition", taskDefinition=of,
                             include=["TAGS"])
    except AwsError as exc:
        # ECS answers ClientException ("Unable to describe task definition") for a missing one.
        if exc.code in ("ClientException", "InvalidParameterException"):
            return None
        raise
    if not ctx.owns(found.get("tags", [])):
        raise NotOurs(f"task definition family {family(ctx)} exists but is not "
                                f"stack {ctx.stack}'s")
    definition: Found = found["taskDefinition"]
    return definition if definition.get("status", "ACTIVE") == "ACTIVE" else None


def differences(current: Found, desired: dict[str, Any]) -> list[FieldChange]:
    """What a new revision changes, in the config's words (environment: names, never values)."""
    have = (current.get("containerDefinitions") or [{}])[0]
    want = desired["containerDefinitions"][0]
    role = desired["executionRoleArn"]
    pairs = [
        ("execution role", current.get("executionRoleArn"), UNKNOWN if role is None else role),
        ("image", have.get("image"), want["image"]),
        ("cpu", current.get("cpu"), desired["cpu"]),
        ("memory", current.get("memory"), desired["memory"]),
        ("port", _plain([p.get("containerPort") for p in have.get("portMappings", [])]),
         _plain([p["containerPort"] for p in want["portMappings"]])),
    ]
    pairs += [
        ("architecture", architecture(current), architecture(desired)),
        ("registry_credentials", _credentials(have), _credentials(want)),
    ]
    changed = [FieldChange(key, old, new) for key, old, new in pairs
               if old != new]
    environment = environment_change(_variables(have), _variables(want))
    if environment:
        changed.append(environment)
    secrets = environment_change(secret_refs(have), secret_refs(want), "secrets")
    if secrets:
        changed.append(secrets)
    if not changed and not _matches(current, desired):
        changed.append(FieldChange("container settings", None, None))
    return changed


def _variables(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("environment") or []}


def secret_refs(container: dict[str, Any]) -> dict[str, str]:
    """The container's secrets: variable name -> the ARN ECS reads it from."""
    return {e["name"]: e.get("valueFrom", "") for e in container.get("secrets") or []}


def architecture(definition: dict[str, Any]) -> str:
    """In the config's words; no runtimePlatform means Fargate's default, x86_64."""
    platform = definition.get("runtimePlatform") or {}
    return str(platform.get("cpuArchitecture") or "X86_64").lower()


def _credentials(container: dict[str, Any]) -> str | None:
    return (container.get("repositoryCredentials") or {}).get("credentialsParameter")


def environment_change(old: dict[str, str], new: dict[str, str],
                       field: str = "environment") -> FieldChange | None:
    """`environment: added A; changed B; removed C`, or None. Only names: a value may be a
    secret someone put there anyway, and plan and up output end up in CI logs (secrets: the
    same words, though their ARNs are no secret)."""
    groups = [("added", sorted(new.keys() - old.keys())),
              ("changed", sorted(k for k in old.keys() & new.keys() if old[k] != new[k])),
              ("removed", sorted(old.keys() - new.keys()))]
    words = [f"{verb} {', '.join(names)}" for verb, names in groups if names]
    if not words:
        return None
    return FieldChange(field, sorted(old), "; ".join(words))


def _plain(value: Any) -> Any:
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _matches(have: Any, want: Any) -> bool:
    """True if `have` holds everything we set in `want`; what AWS adds (hostPort, defaults)
    does not count as a difference."""
    if want in ([], {}) and have is None:
        return True
    if want is None:
        return True  # not known yet (plan: the role is still to be made)
    if isinstance(want, dict):
        return isinstance(have, dict) and all(_matches(have.get(k), v) for k, v in want.items())
    if isinstance(want, list):
        return (isinstance(have, list) and len(have) == len(want)
                and all(_matches(h, w) for h, w in zip(have, want, strict=True)))
    return bool(have == want)


@dataclass
class TaskDefinition(Resource):
    """Reads the execution role's ARN from `<step>.role_arn` (published by the role)."""

    kind: ClassVar[str] = "task definition"

    def name(self, ctx: Context) -> str:
        return family(ctx)

    def identity(self, found: Found) -> Any:
        return found["taskDefinitionArn"]

    def desired(self, ctx: Context) -> dict[str, Any]:
        return desired_task_definition(ctx, ctx.outputs.need(f"{self.step}.role_arn"))

    def find(self, ctx: Context) -> Found | None:
        return latest(ctx, family(ctx))

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        changes = differences(found, self.desired(ctx))
        ctx.outputs.publish(f"{self.step}.revising", bool(changes))
        return changes

    def create(self, ctx: Context) -> Found:
        tags = [{"key": k, "value": v} for k, v in ctx.tags(self.step, "task-definition").items()]
        # A brand-new execution role may be "not valid" for a few seconds while IAM propagates.
        definition = dict(ctx.aws.call("ecs", "register_task_definition", tags=tags,
                                       retry=("ClientException:role is not valid",),
                                       **self.desired(ctx))["taskDefinition"])
        self.record(ctx, definition)
        return definition

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        """A new revision of the family (a task definition is immutable); says why."""
        ctx.report(self.step, "new revision: " + ", ".join(
            f"{c.field}: {c.new}" if c.field in ("environment", "secrets")
            else f"{c.field}: {c.old} -> {c.new}" for c in changes))
        return self.create(ctx)

    def publish(self, ctx: Context, found: Found) -> None:
        """In a plan, a revision still to be registered has no ARN yet: readers (the service)
        see "(known after apply)"."""
        revising = ctx.outputs.planning and ctx.outputs.get(f"{self.step}.revising")
        ctx.outputs.publish(f"{self.step}.arn", None if revising else found["taskDefinitionArn"])

    def delete(self, ctx: Context, found: Found) -> None:
        for arn in self._revisions(ctx):
            ctx.aws.call("ecs", "deregister_task_definition", taskDefinition=arn)

    def _revisions(self, ctx: Context) -> list[str]:
        return [arn for arn in ctx.aws.pages("ecs", "list_task_definitions",
                                             items="taskDefinitionArns", token="nextToken",
                                             familyPrefix=family(ctx), status="ACTIVE")
                if arn.split("/")[-1].rsplit(":", 1)[0] == family(ctx)]

    def health(self, ctx: Context, found: Found) -> Health:
        image = found["containerDefinitions"][0]["image"]
        drift = image != ctx.config.image
        container = found["containerDefinitions"][0]
        # After a failed update rolled the service back, this revision is not what runs.
        undeployed = ctx.state.get("service", "rolled_back_from") == found.get("taskDefinitionArn")
        return Health(not drift, f"revision {found['revision']} {image}"
                                 + (" (config differs: run up)" if drift else "")
                                 + (" (not deployed: its deployment failed and the service was "
                                    "rolled back; the next up tries it again)" if undeployed
                                    else ""),
                      {"revision": found["revision"], "image": image, "deployed": not undeployed,
                       "architecture": architecture(found),
                       # Names only; the values stay in Secrets Manager / SSM (never read).
                       "secrets": sorted(secret_refs(container)),
                       "registry_credentials": _credentials(container) is not None})

