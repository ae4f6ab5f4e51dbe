"""What is checked before the first write and before the first call: regions and partitions,
Lambda functions; where the region comes from; and the execution role, one per region."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import boto3
import pytest
import step_runner
from access_fixtures import ACCESS_CONFIG, make_function, run, write
from conftest import CONFIG, Call, stack_session, writes

from gatewayproxy import arns, config
from gatewayproxy.aws import Aws, Clock, Target, _known_regions
from gatewayproxy.resources import api_access
from gatewayproxy.session import Options, StackSession
from gatewayproxy.state import State
from gatewayproxy.steps import task_definition
from gatewayproxy.steps.base import Context

REGION = "eu-west-1"
NOT_SUPPORTED = "gatewayproxy supports only the standard aws partition for now"


# -- partitions and regions ----------------------------------------------------------------------
@pytest.mark.parametrize(("region", "partition"), [
    ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov"), ("us-iso-east-1", "aws-iso"),
    ("eusc-de-east-1", "aws-eusc"),
])
def test_a_region_outside_the_aws_partition_is_refused_before_any_call(
        config_file: Path, calls: list[Call], region: str, partition: str) -> None:
    config_file.write_text(CONFIG.replace('region = "eu-west-1"', f'region = "{region}"'))
    result = run("up", config=config_file)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: region {region} is in the {partition} partition; {NOT_SUPPORTED} (not China, "
        "GovCloud, ISO or the European Sovereign Cloud)"]
    assert calls == []


def test_the_partition_is_refused_for_every_command_and_for_an_endpoint(
        config_file: Path, calls: list[Call]) -> None:
    for command in (["plan"], ["down", "--yes"], ["status"]):
        result = run(*command, "--region", "cn-northwest-1", "--endpoint-url",
                     "http://127.0.0.1:1", config=config_file)
        assert result.exit_code == 1, command
        assert NOT_SUPPORTED in result.output, command
    assert calls == []


def test_an_unknown_region_is_refused_even_against_an_endpoint_url(
        config_file: Path, calls: list[Call]) -> None:
    result = run("up", "--region", "eu-fake-9", "--endpoint-url", "http://127.0.0.1:1",
                 config=config_file)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: 'eu-fake-9' is not an AWS region this botocore knows (check stack.region, "
        "--region or AWS_REGION)"]
    assert calls == []


def test_a_lambda_arn_of_another_partition_is_a_config_error() -> None:
    raw = tomllib.loads(CONFIG.replace(
        'methods = ["GET", "POST"]',
        'methods = ["GET", "POST"]\nlambda = "arn:aws-cn:lambda:cn-north-1:123456789012:function:f"'))
    with pytest.raises(config.ConfigError, match="arn:aws:lambda:REGION"):
        config.parse(raw)


def test_every_arn_and_hostname_comes_from_one_module() -> None:
    """Supporting another partition later is one change: nothing else spells them out."""
    package = Path(config.__file__).parent
    for path in package.rglob("*.py"):
        if path.name == "arns.py":
            continue
        code = [line for line in path.read_text().splitlines()
                if not line.lstrip().startswith(('"""', "#", "arn:"))]
        text = "\n".join(code)
        assert '"arn:aws' not in text and "f\"arn:aws" not in text, path
        assert 'amazonaws.com"' not in text, path
    assert task_definition.EXECUTION_POLICY == (
        "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")
    assert arns.execute_api_host("abc", REGION) == "abc.execute-api.eu-west-1.amazonaws.com"


# -- AWS_REGION ----------------------------------------------------------------------------------
def test_aws_region_is_honoured_in_the_documented_order(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    """--region > stack.region > AWS_REGION > AWS_DEFAULT_REGION > the profile's region
    (botocore itself reads only AWS_DEFAULT_REGION)."""
    profile = tmp_path / "aws-config"
    profile.write_text("[default]\nregion = ap-south-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(profile))
    assert Aws(Target()).region == "ap-south-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert Aws(Target()).region == "us-east-1"
    monkeypatch.setenv("AWS_REGION", "eu-west-2")
    assert Aws(Target()).region == "eu-west-2"
    assert Aws(Target(region="eu-central-1")).region == "eu-central-1"


def test_the_cli_passes_flag_then_config_then_aws_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-2")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with_region = config.parse(tomllib.loads(CONFIG))
    without = config.parse(tomllib.loads(CONFIG.replace('region = "eu-west-1"\n', "")))

    def region(cfg: config.Config, flag: str | None = None) -> str:
        state = State.load(Path("x.state.json"), cfg.name)
        return StackSession(cfg, state, options=Options(region=flag)).aws.region

    assert region(without) == "eu-west-2"
    assert region(with_region) == "eu-west-1"
    assert region(with_region, "ap-south-1") == "ap-south-1"


# -- Lambda functions ----------------------------------------------------------------------------
MISSING = ("Error: Lambda function quiz-hook does not exist in eu-west-1 (api.routes lambda); "
           "create it first: gatewayproxy never creates or deletes functions")


def test_a_missing_function_stops_up_before_any_write(moto_account: None, tmp_path: Path,
                                                      calls: list[Call]) -> None:
    result = run("up", config=write(tmp_path / "gatewayproxy.toml"))
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [MISSING]
    assert writes(calls) == []


def test_plan_fails_on_a_missing_function_like_up(moto_account: None, tmp_path: Path,
                                                  calls: list[Call]) -> None:
    """As `terraform plan` errors on a data source that does not exist."""
    config_path = write(tmp_path / "gatewayproxy.toml")
    result = run("plan", config=config_path)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [MISSING]
    assert writes(calls) == []
    assert not (tmp_path / ".gatewayproxy").exists()  # no state written either


def test_each_function_is_looked_up_once_per_command(aws: Aws, tmp_path: Path,
                                                     calls: list[Call]) -> None:
    """The check before any write keeps its answer; the step's apply reuses it."""
    arn = make_function()
    session = _session(aws, REGION, tmp_path, ACCESS_CONFIG)
    session.engine().check()
    ctx = session.ctx
    assert api_access.resolve_functions(ctx) == {"quiz-hook": arn}  # what rest_api.apply calls
    assert [c.params for c in calls if c.operation == "get_function"] == [
        {"FunctionName": "quiz-hook"}]


def test_a_function_of_another_region_is_refused_before_any_call(
        moto_account: None, tmp_path: Path, calls: list[Call]) -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:quiz-hook"
    result = run("plan", config=write(tmp_path / "gatewayproxy.toml",
                                      **{'lambda = "quiz-hook"': f'lambda = "{arn}"'}))
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: Lambda function {arn} is in us-east-1, but the stack is in eu-west-1 "
        "(api.routes lambda); gatewayproxy supports only functions in the stack's region for now"]
    assert "lambda" not in {c.service for c in calls}


def test_a_role_of_another_stack_stops_up_before_any_write(moto_account: None, config_file: Path,
                                                           calls: list[Call]) -> None:
    boto3.client("iam", region_name=REGION).create_role(
        RoleName=f"gatewayproxy-quizapi-{REGION}-execution", AssumeRolePolicyDocument="{}")
    calls.clear()
    result = run("up", config=config_file)
    assert result.exit_code == 1
    assert "IAM role gatewayproxy-quizapi-eu-west-1-execution exists but is not tagged as " \
           "stack quizapi's in eu-west-1" in result.output
    assert writes(calls) == []


# -- the execution role: one per region ----------------------------------------------------------
def _session(aws: Aws, region: str, tmp_path: Path, text: str = CONFIG) -> StackSession:
    regional = Aws(Target(region=region), clock=aws.clock, max_poll=0)
    session = stack_session(tmp_path / f"{region}.state.json", regional,
                            text.replace(REGION, region))
    session.engine().claim_target()
    return session


def _context(aws: Aws, region: str, tmp_path: Path, text: str = CONFIG) -> Context:
    return _session(aws, region, tmp_path, text).ctx


def _role_of(ctx: Context) -> str:
    arn = ctx.state.get("task_definition", "task_definition_arn")
    found = ctx.aws.call("ecs", "describe_task_definition", taskDefinition=arn)
    return str(found["taskDefinition"]["executionRoleArn"]).rsplit("/", 1)[-1]


def test_the_same_stack_in_two_regions_has_two_roles_and_down_keeps_the_other(
        aws: Aws, tmp_path: Path) -> None:
    ireland, virginia = (_context(aws, r, tmp_path) for r in ("eu-west-1", "us-east-1"))
    for ctx in (ireland, virginia):
        step_runner.up(ctx, task_definition)
    assert _role_of(ireland) == "gatewayproxy-quizapi-eu-west-1-execution"
    assert _role_of(virginia) == "gatewayproxy-quizapi-us-east-1-execution"
    iam = boto3.client("iam", region_name=REGION)
    tags = iam.list_role_tags(RoleName=_role_of(virginia))["Tags"]
    assert {"Key": "gatewayproxy:region", "Value": "us-east-1"} in tags

    step_runner.down(ireland, task_definition)
    left = [r["RoleName"] for r in iam.list_roles()["Roles"]]
    assert left == ["gatewayproxy-quizapi-us-east-1-execution"]
    policies = iam.list_attached_role_policies(RoleName=left[0])["AttachedPolicies"]
    assert [p["PolicyArn"] for p in policies] == [task_definition.EXECUTION_POLICY]
    virginia.outputs = type(virginia.outputs)()  # a new command
    step_runner.up(virginia, task_definition)  # still up-able, and unchanged
    assert _role_of(virginia) == left[0]


def test_a_role_tagged_for_another_region_is_not_ours(aws: Aws, tmp_path: Path) -> None:
    ctx = _context(aws, REGION, tmp_path)
    name = task_definition.role_name(ctx)
    boto3.client("iam", region_name=REGION).create_role(
        RoleName=name, AssumeRolePolicyDocument="{}",
        Tags=[{"Key": "gatewayproxy:stack", "Value": "quizapi"},
              {"Key": "gatewayproxy:region", "Value": "us-east-1"}])
    with pytest.raises(task_definition.GatewayProxyError, match="in eu-west-1"):
        task_definition.check(ctx)
    step_runner.down(ctx, task_definition)
    assert boto3.client("iam", region_name=REGION).get_role(RoleName=name)


def test_a_stack_of_an_earlier_version_moves_to_its_regional_role(
        aws: Aws, tmp_path: Path) -> None:
    """Its state names the stack-wide role: `up` moves to a new revision with the regional
    role and keeps the old one (old tasks may still use it); `down` deletes both."""
    ctx = _context(aws, REGION, tmp_path)
    legacy = "gatewayproxy-quizapi-execution"
    iam = boto3.client("iam", region_name=REGION)
    iam.create_role(RoleName=legacy, AssumeRolePolicyDocument=json.dumps(
        task_definition.trust_policy(aws.account_id)),
        Tags=[{"Key": "gatewayproxy:stack", "Value": "quizapi"}])
    iam.attach_role_policy(RoleName=legacy, PolicyArn=task_definition.EXECUTION_POLICY)
    ctx.state.record("task_definition", "execution_role", legacy)
    old = ctx.aws.call("ecs", "register_task_definition", tags=[
        {"key": "gatewayproxy:stack", "value": "quizapi"}], **task_definition.desired_task_definition(
        ctx, iam.get_role(RoleName=legacy)["Role"]["Arn"]))["taskDefinition"]["taskDefinitionArn"]
    ctx.state.record("task_definition", "task_definition_arn", old)
    reported: list[str] = []
    ctx.report = lambda step, message: reported.append(message)

    step_runner.up(ctx, task_definition)
    assert _role_of(ctx) == "gatewayproxy-quizapi-eu-west-1-execution"
    assert ctx.state.get("task_definition", "task_definition_arn") != old
    assert ctx.state.get("task_definition", "legacy_execution_role") == legacy
    assert any("moving to the regional execution role" in m for m in reported)
    assert any("execution role:" in m for m in reported)  # the new revision says why
    assert iam.get_role(RoleName=legacy)

    step_runner.down(ctx, task_definition)
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == []


def test_down_leaves_a_legacy_role_its_state_does_not_name(aws: Aws, tmp_path: Path) -> None:
    """Another region's stack of the same name, made by an earlier version, still uses it."""
    iam = boto3.client("iam", region_name=REGION)
    iam.create_role(RoleName="gatewayproxy-quizapi-execution", AssumeRolePolicyDocument="{}",
                    Tags=[{"Key": "gatewayproxy:stack", "Value": "quizapi"}])
    ctx = _context(aws, REGION, tmp_path)
    step_runner.up(ctx, task_definition)
    step_runner.down(ctx, task_definition)
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["gatewayproxy-quizapi-execution"]


def test_down_keeps_a_legacy_role_last_used_in_another_region(
        aws: Aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both regions' states may name the stack-wide role of an earlier version: the one that
    IAM saw last used elsewhere stays, and `down` says why (moto keeps no RoleLastUsed)."""
    legacy = "gatewayproxy-quizapi-execution"
    iam = boto3.client("iam", region_name=REGION)
    iam.create_role(RoleName=legacy, AssumeRolePolicyDocument="{}",
                    Tags=[{"Key": "gatewayproxy:stack", "Value": "quizapi"}])
    ctx = _context(aws, REGION, tmp_path)
    ctx.state.record("task_definition", "execution_role", legacy)
    step_runner.up(ctx, task_definition)
    original = Aws.call

    def used_in_us_east_1(self: Aws, service: str, operation: str, /, **params: Any) -> Any:
        answer = original(self, service, operation, **params)
        if operation == "get_role" and params.get("RoleName") == legacy:
            answer["Role"]["RoleLastUsed"] = {"Region": "us-east-1"}
        return answer

    monkeypatch.setattr(Aws, "call", used_in_us_east_1)
    reported: list[str] = []
    ctx.report = lambda step, message: reported.append(message)
    step_runner.down(ctx, task_definition)
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == [legacy]
    assert any("last used in us-east-1" in m for m in reported), reported


def test_the_longest_role_name_fits_iam(tmp_path: Path) -> None:
    """IAM role names: at most 64 characters (IAM API reference, CreateRole)."""
    aws = Aws(Target(region=REGION), clock=Clock(), max_poll=0)
    longest = max(_known_regions(aws._session), key=len)
    stack = "a" * config.MAX_STACK_NAME
    cfg = config.parse(tomllib.loads(CONFIG.replace('"quizapi"', f'"{stack}"')))
    aws.region = longest
    ctx = Context(config=cfg, state=State.load(tmp_path / "s.json", stack), aws=aws)
    assert len(task_definition.role_name(ctx)) <= 64
