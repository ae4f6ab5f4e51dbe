"""Issue 11's container options on fakes (no moto): `[container.secrets]`, registry_credentials,
architecture and capacity, from the config's rules to the parameters each resource sends."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIG
from fakes import FakeAws

from gatewayproxy import config, cost
from gatewayproxy.context import Context, Outputs
from gatewayproxy.errors import AwsError, ConfigError
from gatewayproxy.resources import ecs_cluster, ecs_service, role_policy
from gatewayproxy.resources import task_definition as definitions
from gatewayproxy.resources.base import FieldChange
from gatewayproxy.state import State

ACCOUNT = "123456789012"
DB = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:quiz/db-AbCdEf"
DB_KEY = f"{DB}:password::"
TOKEN = f"arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/quiz/token"
HUB = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:dockerhub-XyZ123"
OPTIONS = f"""\
registry_credentials = "{HUB}"
architecture = "x86_64"
capacity = "spot"

[container.secrets]
DB_PASSWORD = "{DB_KEY}"
DB_USER = "{DB}:username::"
API_TOKEN = "{TOKEN}"
"""


def with_options(extra: str = OPTIONS, base: str = CONFIG) -> str:
    """CONFIG with `extra` added to [container] (before [api])."""
    return base.replace("\n[api]\n", "\n" + extra + "\n[api]\n", 1)


def parsed(extra: str) -> config.Config:
    return config.parse(tomllib.loads(with_options(extra)))


def ctx_of(tmp_path: Path, text: str, answers: dict[str, Any] | None = None) -> tuple[Context, FakeAws]:
    cfg = config.parse(tomllib.loads(text))
    aws = FakeAws(answers)
    state = State.load(tmp_path / "s.state.json", cfg.name).scratch()
    return Context(config=cfg, state=state, aws=aws, outputs=Outputs()), aws  # type: ignore[arg-type]


# -- config ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("extra", "message"), [
    ('[container.secrets]\nDB = "arn:aws:secretsmanager:eu-west-1:1234:secret:x"\n',
     "container.secrets.DB 'arn:aws:secretsmanager:eu-west-1:1234:secret:x' is not a secret ARN"),
    ('[container.secrets]\nDB = "arn:aws:s3:::bucket/key"\n', "container.secrets.DB "),
    ('[container.secrets]\nDB = "quiz/db"\n', "is not a secret ARN (arn:aws:secretsmanager:"),
    (f'[container.secrets]\nDB = "arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter"\n',
     "container.secrets.DB "),
    (f'[container.secrets]\nGREETING = "{TOKEN}"\n',
     "container.secrets.GREETING is also in container.environment"),
    (f'[container.secrets]\n"1BAD" = "{TOKEN}"\n', "container.secrets: '1BAD' is not a valid"),
    ('[container.secrets]\nDB = 3\n', "container.secrets.DB 3 is not a secret ARN"),
    ('secrets = "x"\n', "container.secrets must be a table"),
    (f'registry_credentials = "{TOKEN}"\n', "container.registry_credentials 'arn:aws:ssm:"),
    (f'registry_credentials = "{DB_KEY}"\n', "container.registry_credentials"),
    ('architecture = "arm"\n',
     "container.architecture 'arm' must be one of \"x86_64\", \"arm64\""),
    ('capacity = "cheap"\n', "container.capacity 'cheap' must be one of \"on_demand\", \"spot\", "
                             "\"mixed\""),
    ('architecture = "arm64"\ncapacity = "spot"\n',
     'container.architecture = "arm64" cannot run with container.capacity = "spot"'),
    ('architecture = "arm64"\ncapacity = "mixed"\n',
     'container.architecture = "arm64" cannot run with container.capacity = "mixed"'),
])
def test_bad_container_options_are_refused_naming_the_key(extra: str, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parsed(extra)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_options_parse_with_their_defaults() -> None:
    cfg = config.parse(tomllib.loads(CONFIG))
    assert (cfg.secrets, cfg.registry_credentials, cfg.architecture, cfg.capacity) == \
        ({}, None, "x86_64", "on_demand")
    full = parsed(OPTIONS)
    assert full.secrets == {"DB_PASSWORD": DB_KEY, "DB_USER": f"{DB}:username::",
                            "API_TOKEN": TOKEN}
    assert (full.registry_credentials, full.capacity) == (HUB, "spot")
    assert parsed('architecture = "arm64"\n').architecture == "arm64"


def test_ecs_json_key_and_version_references_are_accepted() -> None:
    for suffix in (":password", ":password:AWSCURRENT", "::AWSPREVIOUS", ":::0a1b2c3d-4e5f",
                   ":password:AWSCURRENT:"):
        assert parsed(f'[container.secrets]\nX = "{DB}{suffix}"\n').secrets["X"] == DB + suffix
        assert config.secret_base_arn(DB + suffix) == DB


def test_a_secret_in_another_region_is_refused_before_any_write(tmp_path: Path) -> None:
    elsewhere = DB.replace("eu-west-1", "us-east-1")
    ctx, aws = ctx_of(tmp_path, with_options(f'[container.secrets]\nDB_PASSWORD = "{elsewhere}"\n'))
    with pytest.raises(ConfigError) as refused:
        role_policy.check_regions(ctx)
    assert str(refused.value) == ("container.secrets.DB_PASSWORD: the ARN is in us-east-1, the "
                                  "stack in eu-west-1; use a secret of the stack's region")
    assert aws.sent == []
    ctx, _ = ctx_of(tmp_path, with_options(
        f'registry_credentials = "{HUB.replace("eu-west-1", "eu-central-1")}"\n'))
    with pytest.raises(ConfigError, match="^container.registry_credentials: the ARN is in "
                                          "eu-central-1, the stack in eu-west-1"):
        role_policy.check_regions(ctx)


# -- the task definition -----------------------------------------------------------------------
def test_the_container_names_its_secrets_and_registry_credentials(tmp_path: Path) -> None:
    ctx, _ = ctx_of(tmp_path, with_options())
    desired = definitions.desired_task_definition(ctx, "arn:aws:iam::1:role/r")
    container = desired["containerDefinitions"][0]
    assert container["secrets"] == [  # sorted by name
        {"name": "API_TOKEN", "valueFrom": TOKEN},
        {"name": "DB_PASSWORD", "valueFrom": DB_KEY},
        {"name": "DB_USER", "valueFrom": f"{DB}:username::"}]
    assert container["repositoryCredentials"] == {"credentialsParameter": HUB}
    assert "runtimePlatform" not in desired  # x86_64: Fargate's default


def test_arm64_sends_a_runtime_platform(tmp_path: Path) -> None:
    ctx, _ = ctx_of(tmp_path, with_options('architecture = "arm64"\n'))
    desired = definitions.desired_task_definition(ctx, "arn:aws:iam::1:role/r")
    assert desired["runtimePlatform"] == {"cpuArchitecture": "ARM64",
                                          "operatingSystemFamily": "LINUX"}
    assert "secrets" not in desired["containerDefinitions"][0]


def registered(ctx: Context, **extra: Any) -> dict[str, Any]:
    definition = definitions.desired_task_definition(ctx, "arn:aws:iam::1:role/r")
    return {**definition, **extra, "taskDefinitionArn": "arn:aws:ecs:eu-west-1:1:task-definition/f:3",
            "revision": 3, "status": "ACTIVE"}


def test_an_old_definition_without_the_options_is_unchanged(tmp_path: Path) -> None:
    """A stack made before these options: no runtimePlatform (or AWS's X86_64 default), no
    secrets: nothing to revise."""
    ctx, _ = ctx_of(tmp_path, CONFIG)
    desired = definitions.desired_task_definition(ctx, "arn:aws:iam::1:role/r")
    assert definitions.differences(registered(ctx), desired) == []
    platform = {"runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"}}
    assert definitions.differences(registered(ctx, **platform), desired) == []


def test_option_changes_are_new_revisions_in_the_configs_words(tmp_path: Path) -> None:
    old, _ = ctx_of(tmp_path, CONFIG)
    new, _ = ctx_of(tmp_path, with_options(
        OPTIONS.replace('capacity = "spot"', 'capacity = "on_demand"')
        .replace('"x86_64"', '"arm64"')))
    current = registered(old)
    changes = definitions.differences(current, definitions.desired_task_definition(
        new, "arn:aws:iam::1:role/r"))
    assert changes == [
        FieldChange("architecture", "x86_64", "arm64"),
        FieldChange("registry_credentials", None, HUB),
        FieldChange("secrets", [], "added API_TOKEN, DB_PASSWORD, DB_USER"),
    ]
    back = definitions.differences(registered(new), definitions.desired_task_definition(
        old, "arn:aws:iam::1:role/r"))
    assert back == [
        FieldChange("architecture", "arm64", "x86_64"),
        FieldChange("registry_credentials", HUB, None),
        FieldChange("secrets", ["API_TOKEN", "DB_PASSWORD", "DB_USER"],
                    "removed API_TOKEN, DB_PASSWORD, DB_USER"),
    ]


def test_a_secret_moved_to_another_arn_shows_its_name_only(tmp_path: Path) -> None:
    ctx, _ = ctx_of(tmp_path, with_options(f'[container.secrets]\nDB = "{DB}"\n'))
    moved, _ = ctx_of(tmp_path, with_options(f'[container.secrets]\nDB = "{DB_KEY}"\n'))
    changes = definitions.differences(registered(ctx), definitions.desired_task_definition(
        moved, "arn:aws:iam::1:role/r"))
    assert changes == [FieldChange("secrets", ["DB"], "changed DB")]


def test_status_shows_secret_names_architecture_and_credentials(tmp_path: Path) -> None:
    ctx, _ = ctx_of(tmp_path, with_options())
    health = definitions.TaskDefinition("task_definition", "k").health(ctx, registered(ctx))
    assert health.details["secrets"] == ["API_TOKEN", "DB_PASSWORD", "DB_USER"]
    assert health.details["architecture"] == "x86_64"
    assert health.details["registry_credentials"] is True
    assert "arn:" not in json.dumps({k: health.details[k] for k in ("secrets", "architecture")})


# -- the execution role's inline policy --------------------------------------------------------
def test_the_policy_allows_exactly_those_actions_on_exactly_those_arns() -> None:
    document = role_policy.policy_document(parsed(OPTIONS))
    assert document == {"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
         "Resource": [HUB, DB]},  # sorted; the json-key references name their secret once
        {"Sid": "ReadParameters", "Effect": "Allow", "Action": ["ssm:GetParameters"],
         "Resource": [TOKEN]},
    ]}
    assert "*" not in json.dumps(document) and "kms:" not in json.dumps(document)
    only_ssm = role_policy.policy_document(parsed(f'[container.secrets]\nT = "{TOKEN}"\n'))
    assert [s["Sid"] for s in only_ssm["Statement"]] == ["ReadParameters"]
    only_hub = role_policy.policy_document(parsed(f'registry_credentials = "{HUB}"\n'))
    assert only_hub["Statement"][0]["Resource"] == [HUB]


def test_a_partial_secret_arn_is_allowed_with_its_random_suffix() -> None:
    """IAM matches the secret's full ARN (name, "-", six random characters): a partial ARN in
    the config is named `NAME-??????` in the policy, else GetSecretValue is denied."""
    partial = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:quiz/api"
    document = role_policy.policy_document(parsed(
        f'registry_credentials = "{partial}"\n[container.secrets]\nKEY = "{partial}:key::"\n'
        f'DB = "{DB}"\n'))
    assert document["Statement"][0]["Resource"] == [partial + "-??????", DB]


def policy_answer(document: dict[str, Any]) -> dict[str, Any]:
    return {"RoleName": "r", "PolicyName": role_policy.POLICY_NAME, "PolicyDocument": document}


def test_the_policy_is_put_on_our_role_and_recorded(tmp_path: Path) -> None:
    ctx, aws = ctx_of(tmp_path, with_options())
    resource = role_policy.SecretsPolicy("task_definition", "secrets_policy")
    assert resource.wanted(ctx)
    resource.create(ctx)
    (operation, params), = aws.sent
    assert operation == "put_role_policy"
    assert params["RoleName"] == "gatewayproxy-quizapi-eu-west-1-execution"
    assert params["PolicyName"] == "gatewayproxy-secrets"
    assert json.loads(params["PolicyDocument"]) == role_policy.policy_document(ctx.config)
    assert ctx.state.get("task_definition", "secrets_policy") == "gatewayproxy-secrets"


def test_the_policy_converges_on_change_and_is_unwanted_without_secrets(tmp_path: Path) -> None:
    ctx, _ = ctx_of(tmp_path, with_options())
    resource = role_policy.SecretsPolicy("task_definition", "secrets_policy")
    same = policy_answer(role_policy.policy_document(ctx.config))
    assert resource.diff(ctx, same) == []
    # IAM may answer a lone action or resource as a string: still the same policy.
    loose = json.loads(json.dumps(same["PolicyDocument"]))
    loose["Statement"][1]["Action"] = "ssm:GetParameters"
    loose["Statement"][1]["Resource"] = TOKEN
    assert resource.diff(ctx, policy_answer(loose)) == []
    fewer, _ = ctx_of(tmp_path, with_options(f'[container.secrets]\nT = "{TOKEN}"\n'))
    (change,) = resource.diff(fewer, same)
    assert change.field == "allows" and change.new == [f"ssm:GetParameters {TOKEN}"]
    none, _ = ctx_of(tmp_path, CONFIG)
    assert not resource.wanted(none)


def test_the_policy_is_found_on_our_role_only(tmp_path: Path) -> None:
    missing = AwsError("GetRolePolicy", "NoSuchEntity", "not attached")
    ctx, aws = ctx_of(tmp_path, with_options(), {"get_role_policy": missing})
    resource = role_policy.SecretsPolicy("task_definition", "secrets_policy")
    ctx.outputs.publish("task_definition.role", {})  # no role yet: no policy, no call
    assert resource.find(ctx) is None and aws.sent == []
    ctx.outputs.publish("task_definition.role", {"RoleName": "r", "ours": True})
    assert resource.find(ctx) is None
    assert aws.sent == [("get_role_policy", {"RoleName": "r",
                                              "PolicyName": "gatewayproxy-secrets"})]
    ctx.outputs.publish("task_definition.role", {"RoleName": "r", "ours": False})
    assert resource.find(ctx) is None and len(aws.sent) == 1


def test_deleting_the_policy_treats_missing_as_done(tmp_path: Path) -> None:
    missing = AwsError("DeleteRolePolicy", "NoSuchEntity", "gone")
    ctx, aws = ctx_of(tmp_path, with_options(), {"delete_role_policy": missing})
    role_policy.SecretsPolicy("task_definition", "k").delete(ctx, policy_answer({}))
    assert aws.operations == ["delete_role_policy"]


# -- capacity: the cluster's providers and the service's strategy --------------------------------
def cluster(providers: list[str] | None = None) -> dict[str, Any]:
    return {"clusterName": "quizapi-cluster", "status": "ACTIVE",
            "capacityProviders": providers or [], "defaultCapacityProviderStrategy": []}


def test_a_new_spot_clusters_providers_come_with_it(tmp_path: Path) -> None:
    ctx, aws = ctx_of(tmp_path, with_options('capacity = "spot"\n'),
                      {"get_role": {"Role": {}}, "create_cluster": {"cluster": cluster()}})
    ecs_cluster.EcsCluster("cluster", "cluster").create(ctx)
    assert dict(aws.sent)["create_cluster"]["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    plain, aws = ctx_of(tmp_path, CONFIG, {"get_role": {"Role": {}},
                                           "create_cluster": {"cluster": cluster()}})
    ecs_cluster.EcsCluster("cluster", "cluster").create(plain)
    assert "capacityProviders" not in dict(aws.sent)["create_cluster"]


def test_an_existing_cluster_gets_the_providers_and_keeps_them(tmp_path: Path) -> None:
    ctx, aws = ctx_of(tmp_path, with_options('capacity = "mixed"\n'),
                      {"put_cluster_capacity_providers": {"cluster": cluster()}})
    resource = ecs_cluster.EcsCluster("cluster", "cluster")
    changes = resource.diff(ctx, cluster())
    assert changes == [FieldChange("capacity providers", [], ["FARGATE", "FARGATE_SPOT"])]
    resource.update(ctx, cluster(), changes)
    assert aws.sent == [("put_cluster_capacity_providers", {
        "cluster": "quizapi-cluster", "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
        "defaultCapacityProviderStrategy": []})]
    assert resource.diff(ctx, cluster(["FARGATE", "FARGATE_SPOT"])) == []
    on_demand, _ = ctx_of(tmp_path, CONFIG)
    # Back on on_demand the providers stay: the service may still name FARGATE in a strategy.
    assert resource.diff(on_demand, cluster(["FARGATE", "FARGATE_SPOT"])) == []
    assert resource.diff(on_demand, cluster()) == []


def service(strategy: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "status": "ACTIVE", "taskDefinition": "arn:td:3", "desiredCount": 2,
        "loadBalancers": [{"targetGroupArn": "tg", "containerName": "app", "containerPort": 8080}],
        "runningCount": 2, "pendingCount": 0, "serviceArn": "arn:svc", "clusterArn": "arn:c"}
    if strategy:
        found["capacityProviderStrategy"] = strategy
    else:
        found["launchType"] = "FARGATE"
    return found


def service_ctx(tmp_path: Path, extra: str) -> tuple[Context, FakeAws]:
    text = with_options(extra) if extra else CONFIG
    ctx, aws = ctx_of(tmp_path, text, {"create_service": {"service": service()},
                                       "update_service": {"service": service()}})
    for key, value in {"task_definition.arn": "arn:td:3", "service.target_group_arn": "tg",
                       "cluster.name": "quizapi-cluster", "private_subnet.subnets": ["s"],
                       "service.security_group": {"GroupId": "sg"}}.items():
        ctx.outputs.publish(key, value)
    return ctx, aws


@pytest.mark.parametrize(("capacity", "strategy"), [
    ("spot", [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]),
    ("mixed", [{"capacityProvider": "FARGATE", "base": 1, "weight": 0},
               {"capacityProvider": "FARGATE_SPOT", "weight": 1}]),
])
def test_a_spot_service_is_created_with_a_strategy_and_no_launch_type(
        tmp_path: Path, capacity: str, strategy: list[dict[str, Any]]) -> None:
    ctx, aws = service_ctx(tmp_path, f'capacity = "{capacity}"\n')
    ecs_service.EcsService("service", "service").create(ctx)
    sent = dict(aws.sent)["create_service"]
    assert sent["capacityProviderStrategy"] == strategy
    assert "launchType" not in sent


def test_an_on_demand_service_keeps_the_fargate_launch_type(tmp_path: Path) -> None:
    ctx, aws = service_ctx(tmp_path, "")
    ecs_service.EcsService("service", "service").create(ctx)
    sent = dict(aws.sent)["create_service"]
    assert sent["launchType"] == "FARGATE" and "capacityProviderStrategy" not in sent
    assert ecs_service.EcsService("service", "service").diff(ctx, service()) == []


def test_switching_capacity_updates_the_strategy_with_a_new_deployment(tmp_path: Path) -> None:
    ctx, aws = service_ctx(tmp_path, 'capacity = "spot"\n')
    resource = ecs_service.EcsService("service", "service")
    changes = resource.diff(ctx, service())
    assert changes == [FieldChange("capacity", "on_demand", "spot")]
    resource.update(ctx, service(), changes)
    (operation, params), = aws.sent
    assert operation == "update_service"
    assert params["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    assert params["forceNewDeployment"] is True
    assert "launchType" not in params


def test_on_demand_after_spot_stays_on_a_fargate_strategy(tmp_path: Path) -> None:
    ctx, aws = service_ctx(tmp_path, "")
    resource = ecs_service.EcsService("service", "service")
    spot = service([{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}])
    changes = resource.diff(ctx, spot)
    assert changes == [FieldChange("capacity", "spot", "on_demand")]
    resource.update(ctx, spot, changes)
    params = dict(aws.sent)["update_service"]
    assert params["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "weight": 1}]
    assert params["forceNewDeployment"] is True
    on_fargate = service([{"capacityProvider": "FARGATE", "weight": 1, "base": 0}])
    assert resource.diff(ctx, on_fargate) == []  # converged: on_demand
    assert resource.health(ctx, on_fargate).details["capacity"] == "on_demand"


def test_a_strategy_that_is_none_of_ours_shows_its_providers() -> None:
    custom = service([{"capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 0},
                      {"capacityProvider": "FARGATE", "weight": 1, "base": 0}])
    assert ecs_service.capacity_of(custom) == "FARGATE:0/1+FARGATE_SPOT:0/3"


# -- cost --------------------------------------------------------------------------------------
def monthly(extra: str, count: int = 3) -> dict[str, float | None]:
    cfg = parsed(extra)
    cfg = config.replace(cfg, desired_count=count)
    found = cost.estimate(cfg, "us-east-1")
    assert found is not None
    return {line.component: line.monthly for line in found.lines}


def test_cost_uses_spot_and_arm_rates_and_splits_mixed() -> None:
    task = 0.25 * 0.04048 + 0.5 * 0.004445
    spot = 0.25 * 0.012144 + 0.5 * 0.0013335
    arm = 0.25 * 0.03238 + 0.5 * 0.00356
    assert monthly("")["Fargate tasks"] == pytest.approx(3 * 730 * task)
    on_spot = monthly('capacity = "spot"\n')
    assert "Fargate tasks" not in on_spot
    assert on_spot["Fargate Spot tasks"] == pytest.approx(3 * 730 * spot)
    mixed = monthly('capacity = "mixed"\n')
    assert mixed["Fargate tasks"] == pytest.approx(730 * task)
    assert mixed["Fargate Spot tasks"] == pytest.approx(2 * 730 * spot)
    assert monthly('capacity = "mixed"\n', count=1) == {**monthly("", 1)}
    assert monthly('architecture = "arm64"\n')["Fargate tasks (ARM64)"] == \
        pytest.approx(3 * 730 * arm)
    text = cost.describe(cost.estimate(parsed('capacity = "spot"\n'), "us-east-1"), "us-east-1")
    assert any("typical recent Spot price (it varies)" in line for line in text)


def test_up_reads_a_put_policy_back_before_the_service_may_start(tmp_path: Path) -> None:
    """IAM is eventually consistent: the policy is ready once IAM answers the new document."""
    ctx, aws = ctx_of(tmp_path, with_options())
    resource = role_policy.SecretsPolicy("task_definition", "secrets_policy")
    wait = resource.ready
    assert wait is not None
    written = resource.create(ctx)
    assert wait.status(written) == "written"  # a put is never taken as seen
    document = role_policy.policy_document(ctx.config)
    aws.answers["get_role_policy"] = policy_answer({"Version": "2012-10-17", "Statement": []})
    assert wait.status(wait.read(ctx, written)) == "not visible yet"
    aws.answers["get_role_policy"] = policy_answer(document)
    assert wait.status(wait.read(ctx, written)) in wait.done
    assert wait.status(policy_answer(document)) in wait.done  # found unchanged: no read


def test_a_stack_without_secrets_is_not_asked_about_the_policy_but_down_looks(
        tmp_path: Path) -> None:
    missing = AwsError("GetRolePolicy", "NoSuchEntity", "not attached")
    ctx, aws = ctx_of(tmp_path, CONFIG, {"get_role_policy": missing})
    ctx.outputs.publish("task_definition.role", {"RoleName": "r", "ours": True})
    resource = role_policy.SecretsPolicy("task_definition", "secrets_policy")
    for command in ("up", "plan", "status"):
        ctx.command = command
        assert resource.find(ctx) is None
    assert aws.sent == []
    ctx.command = "down"
    assert resource.find(ctx) is None
    assert aws.operations == ["get_role_policy"]
    ctx.command = "up"
    ctx.state.record("task_definition", "secrets_policy", role_policy.POLICY_NAME)
    resource.find(ctx)  # recorded (e.g. a crash right after the put): looked for, to delete
    assert aws.operations == ["get_role_policy"] * 2
