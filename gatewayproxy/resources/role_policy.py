"""The execution role's inline policy: read exactly the secrets the container names.

ECS reads `[container.secrets]` and `container.registry_credentials` with the task execution
role when a task starts ("Required IAM permissions for Amazon ECS secrets": secretsmanager:
GetSecretValue for a secret, ssm:GetParameters for a parameter; "Private registry authentication":
GetSecretValue on the credentials' secret). The managed execution policy grants neither, so the
role gets one inline policy naming each ARN (no wildcard resource); none when nothing needs it.

kms:Decrypt is not granted: AWS needs it only for a secret or parameter encrypted with a
customer managed key, and names the key's ARN as the resource, which the config does not know
(a secret's ARN does not say its key). Such a key's key policy grants the role kms:Decrypt itself.

Inline policies carry no tags: the policy is ours because the role is (see iam_role.owns_role).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy.config import SECRET_ARN, Config, secret_base_arn, secret_region
from gatewayproxy.context import Context
from gatewayproxy.errors import ConfigError
from gatewayproxy.resources.base import FieldChange, Found, Health, Resource, WaitFor
from gatewayproxy.resources.iam_role import find_role, role_name

POLICY_NAME = "gatewayproxy-secrets"


# Secrets Manager ends every secret's ARN with "-" and six random characters; IAM matches a
# request against that full ARN, so a partial ARN (the name without them) in a policy matches
# nothing ("Permissions policy examples for Secrets Manager": use `SecretName-??????`; the
# AccessDeniedException of aws/aws-cdk#18555).
RANDOM_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")


def iam_resource(secret_arn: str) -> str:
    """The secret as an IAM policy must name it: a full ARN as it is, a partial one with
    `-??????` for the suffix Secrets Manager added."""
    return secret_arn if RANDOM_SUFFIX.search(secret_arn) else secret_arn + "-??????"


def secret_arns(cfg: Config) -> list[str]:
    """The Secrets Manager secrets to read, as IAM names them: a json-key / version reference
    is allowed through its secret's ARN (ECS asks GetSecretValue of the secret)."""
    arns = {iam_resource(secret_base_arn(a)) for a in cfg.secrets.values()
            if SECRET_ARN.fullmatch(a)}
    if cfg.registry_credentials:
        arns.add(iam_resource(cfg.registry_credentials))
    return sorted(arns)


def parameter_arns(cfg: Config) -> list[str]:
    return sorted({a for a in cfg.secrets.values() if not SECRET_ARN.fullmatch(a)})


def policy_document(cfg: Config) -> dict[str, Any]:
    """Exactly these actions on exactly these ARNs."""
    statements = []
    if secrets := secret_arns(cfg):
        statements.append({"Sid": "ReadSecrets", "Effect": "Allow",
                           "Action": ["secretsmanager:GetSecretValue"], "Resource": secrets})
    if parameters := parameter_arns(cfg):
        statements.append({"Sid": "ReadParameters", "Effect": "Allow",
                           "Action": ["ssm:GetParameters"], "Resource": parameters})
    return {"Version": "2012-10-17", "Statement": statements}


def check_regions(ctx: Context) -> None:
    """Before any write: every secret lives in the stack's region (the config may not name the
    region: it can come from the profile or --region)."""
    cfg = ctx.config
    named = [(f"container.secrets.{k}", v) for k, v in sorted(cfg.secrets.items())]
    if cfg.registry_credentials:
        named.append(("container.registry_credentials", cfg.registry_credentials))
    for key, arn in named:
        if secret_region(arn) != ctx.aws.region:
            raise ConfigError(f"{key}: the ARN is in {secret_region(arn)}, the stack in "
                              f"{ctx.aws.region}; use a secret of the stack's region")


def _document(found: Found) -> dict[str, Any]:
    """GetRolePolicy's document: botocore decodes it; a raw answer is URL-encoded JSON."""
    document = found.get("PolicyDocument") or {}
    if isinstance(document, str):
        document = json.loads(urllib.parse.unquote(document))
    return dict(document)


def _allowed(document: dict[str, Any]) -> list[str]:
    """Every `action on ARN` the document allows, in a stable order (IAM may answer a single
    action or resource as a string)."""
    pairs = set()
    for statement in document.get("Statement") or []:
        actions = statement.get("Action") or []
        resources = statement.get("Resource") or []
        for action in [actions] if isinstance(actions, str) else actions:
            for arn in [resources] if isinstance(resources, str) else resources:
                pairs.add(f"{action} {arn}")
    return sorted(pairs)


def _read_back(ctx: Context, found: Found) -> Found | None:
    """GetRolePolicy again, noting whether IAM answers the document just put."""
    answer = ctx.aws.find("iam", "get_role_policy", RoleName=found["RoleName"],
                          PolicyName=POLICY_NAME)
    if answer is None:
        return None
    return {**answer, "current": _allowed(_document(answer)) == _allowed(found["PolicyDocument"])}


def _propagation(found: Any) -> str:
    if found is None:
        return "not visible yet"
    if found.get("written"):
        return "written"
    return "current" if found.get("current", True) else "not visible yet"


@dataclass
class SecretsPolicy(Resource):
    """Reads the role from `<step>.role` (what ExecutionRole found or made).

    IAM is eventually consistent ("Changes that I make are not always immediately visible",
    IAM User Guide): after a put, `up` reads the policy back until IAM answers the new document
    before the service (which needs this step) starts tasks that read the secrets. ECS's own
    view may lag a few seconds more; a task that fails to read a secret then is started again
    by the service scheduler."""

    kind: ClassVar[str] = "IAM role policy"
    ready: ClassVar[WaitFor | None] = WaitFor(read=_read_back, status=_propagation,
                                              done=frozenset({"current"}), timeout=120)

    def name(self, ctx: Context) -> str:
        return f"{role_name(ctx)}/{POLICY_NAME}"

    def wanted(self, ctx: Context) -> bool:
        return bool(ctx.config.secrets or ctx.config.registry_credentials)

    def identity(self, found: Found) -> Any:
        return found["PolicyName"]

    def find(self, ctx: Context) -> Found | None:
        """On our role only (a role of our name that is not ours was refused by `check`). A
        stack that never had one (nothing recorded: `create` records before it writes) is not
        asked about it, except by `down`, which must leave the role deletable whatever the
        state says."""
        if not self.wanted(ctx) and not self.recorded(ctx) and ctx.command != "down":
            return None
        role = find_role(ctx, f"{self.step}.role", strict=False)
        if not role:
            return None
        found = ctx.aws.find("iam", "get_role_policy", RoleName=role["RoleName"],
                             PolicyName=POLICY_NAME)
        return dict(found) if found else None

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        have = _allowed(_document(found))
        want = _allowed(policy_document(ctx.config))
        return [] if have == want else [FieldChange("allows", have, want)]

    def create(self, ctx: Context) -> Found:
        """The name is known before the put: recorded first, so a crash right after the put
        still leaves the state naming it (a later `up` without secrets then deletes it)."""
        self.record(ctx, {"PolicyName": POLICY_NAME})
        return self._put(ctx)

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        """PutRolePolicy replaces the document of a policy of that name."""
        return self._put(ctx)

    def _put(self, ctx: Context) -> Found:
        document = policy_document(ctx.config)
        ctx.aws.call("iam", "put_role_policy", RoleName=role_name(ctx), PolicyName=POLICY_NAME,
                     PolicyDocument=json.dumps(document))
        return {"RoleName": role_name(ctx), "PolicyName": POLICY_NAME, "PolicyDocument": document,
                "written": True}

    def delete(self, ctx: Context, found: Found) -> None:
        ctx.aws.find("iam", "delete_role_policy", RoleName=found["RoleName"],
                     PolicyName=POLICY_NAME)

    def health(self, ctx: Context, found: Found) -> Health:
        allowed = _allowed(_document(found))
        drift = allowed != _allowed(policy_document(ctx.config))
        return Health(not drift, f"inline policy {POLICY_NAME}: reads {len(allowed)} secret(s)"
                                 + (" (config differs: run up)" if drift else ""),
                      {"secret_access": allowed})
