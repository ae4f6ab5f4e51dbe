"""Per-route access: public, API-key, IAM and Lambda routes, throttling, access logs and keys,
through the CLI on moto; with the parameters sent where moto does not keep them."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from access_fixtures import ACCESS_CONFIG, make_function, run, run_keys, write
from conftest import REGION, Call, writes
from inventory import access_inventory, inventory
from test_lifecycle import EXPECTED
from worlds import made_once

from gatewayproxy.resources import api_access

ACCOUNT = "123456789012"


@pytest.fixture
def deployed(moto_account: None, tmp_path: Path) -> Path:
    """The access stack, up (made by one test of the process, restored for the others)."""
    config = write(tmp_path / "gatewayproxy.toml")

    def up() -> None:
        make_function()
        result = run("up", config=config)
        assert result.exit_code == 0, result.output

    made_once(("test_api_access.deployed", ACCESS_CONFIG), tmp_path, up)
    return config


def method(api_id: str, path: str, verb: str) -> dict:
    apigw = boto3.client("apigateway", region_name=REGION)
    resources = {r["path"]: r["id"] for r in apigw.get_resources(restApiId=api_id)["items"]}
    return apigw.get_method(restApiId=api_id, resourceId=resources[path], httpMethod=verb)


def api_id() -> str:
    return boto3.client("apigateway", region_name=REGION).get_rest_apis()["items"][0]["id"]


def test_one_up_builds_each_route_and_what_guards_it(deployed: Path, calls: list[Call],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """One deployed stack, checked from every side (each `up` costs a second of the suite)."""
    check_each_route_gets_its_auth_and_target()
    check_the_lambda_may_be_invoked_by_this_api_only()
    check_usage_plan_is_bound_to_the_stage_with_the_configured_limits(deployed)
    check_stage_throttling_and_access_logs()
    check_status_shows_each_route_auth_target_and_throttling(deployed, monkeypatch)
    calls.clear()
    assert run("up", config=deployed).exit_code == 0
    assert writes(calls) == []  # a second up changes nothing


def check_each_route_gets_its_auth_and_target() -> None:
    api = api_id()
    public = method(api, "/answers", "GET")
    assert (public["authorizationType"], public["apiKeyRequired"]) == ("NONE", False)
    assert public["methodIntegration"]["type"] == "HTTP_PROXY"
    for verb in ("GET", "POST"):
        keyed = method(api, "/teams/{team}", verb)
        assert (keyed["authorizationType"], keyed["apiKeyRequired"]) == ("NONE", True)
    admin = method(api, "/admin", "ANY")
    assert (admin["authorizationType"], admin["apiKeyRequired"]) == ("AWS_IAM", False)
    hook = method(api, "/hook", "POST")["methodIntegration"]
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:quiz-hook"
    assert hook["type"] == "AWS_PROXY" and hook["httpMethod"] == "POST"
    assert hook["uri"] == (f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
                           f"{function}/invocations")


def check_the_lambda_may_be_invoked_by_this_api_only() -> None:
    policy = json.loads(boto3.client("lambda", region_name=REGION).get_policy(
        FunctionName="quiz-hook")["Policy"])
    [statement] = policy["Statement"]
    assert statement["Sid"].startswith("gatewayproxy-quizapi--POST-")
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert statement["Action"] == "lambda:InvokeFunction"
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == (
        f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id()}/*/POST/hook")


def check_usage_plan_is_bound_to_the_stage_with_the_configured_limits(deployed: Path) -> None:
    [plan] = boto3.client("apigateway", region_name=REGION).get_usage_plans()["items"]
    assert plan["apiStages"] == [{"apiId": api_id(), "stage": "live"}]
    assert plan["throttle"] == {"rateLimit": 5.0, "burstLimit": 10}
    assert plan["quota"] == {"limit": 1000, "period": "DAY"}
    assert plan["tags"]["gatewayproxy:stack"] == "quizapi"
    state = json.loads((deployed.parent / ".gatewayproxy/quizapi.state.json").read_text())
    assert state["steps"]["rest_api"]["resources"]["usage_plan_id"] == plan["id"]


def check_stage_throttling_and_access_logs() -> None:
    stage = boto3.client("apigateway", region_name=REGION).get_stage(restApiId=api_id(),
                                                                     stageName="live")
    settings = stage["methodSettings"]
    assert (settings["*/*"]["throttlingRateLimit"], settings["*/*"]["throttlingBurstLimit"]) == (50, 100)
    for verb in ("GET", "POST"):
        override = settings[f"~1teams~1{{team}}/{verb}"]
        assert (override["throttlingRateLimit"], override["throttlingBurstLimit"]) == (2, 4)
    logs = stage["accessLogSettings"]
    assert logs["destinationArn"] == (
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/gatewayproxy/quizapi/access")
    assert set(json.loads(logs["format"])) >= {"requestId", "ip", "requestTime", "httpMethod",
                                               "resourcePath", "status", "responseLength",
                                               "integrationLatency"}
    client = boto3.client("logs", region_name=REGION)
    [group] = client.describe_log_groups(logGroupNamePrefix="/gatewayproxy/quizapi/access")[
        "logGroups"]
    assert group["retentionInDays"] == 30
    tags = client.list_tags_log_group(logGroupName=group["logGroupName"])["tags"]
    assert tags["gatewayproxy:stack"] == "quizapi"


def check_status_shows_each_route_auth_target_and_throttling(
        deployed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = json.loads(run("status", "--json", config=deployed).stdout)
    rest = next(s for s in report["steps"] if s["name"] == "rest_api")
    routes = {r["path"]: r for r in rest["details"]["routes"]}
    assert (routes["/answers"]["auth"], routes["/answers"]["target"]) == ("none", "service")
    assert routes["/answers"]["throttle"] == "50/s burst 100"
    assert routes["/teams/{team}"]["auth"] == "api_key"
    assert routes["/teams/{team}"]["throttle"] == "2/s burst 4; per key 5/s burst 10, 1000/day"
    assert (routes["/hook"]["auth"], routes["/hook"]["target"]) == ("none", "lambda:quiz-hook")
    assert routes["/admin"]["auth"] == "iam"
    assert rest["details"]["access_log_group"] == "/gatewayproxy/quizapi/access"
    assert report["healthy"], report
    monkeypatch.setenv("COLUMNS", "250")  # one route per line, unwrapped
    text = run("status", config=deployed).stdout
    assert "POST /hook: auth none, target lambda:quiz-hook" in text
    assert "GET POST /teams/{team}: auth api_key, target service" in text


def test_keys_are_shown_once_listed_without_value_revoked_and_removed_by_down(deployed: Path,
                                                             calls: list[Call]) -> None:
    created = run_keys("create", "mobile-app", config=deployed)
    assert created.exit_code == 0, created.output
    value = created.stdout.strip()
    assert "only time" in created.stderr and value not in created.stderr
    apigw = boto3.client("apigateway", region_name=REGION)
    [key] = apigw.get_api_keys(includeValues=True)["items"]
    assert key["value"] == value and key["enabled"]
    assert key["tags"]["gatewayproxy:key"] == "mobile-app"
    [plan] = apigw.get_usage_plans()["items"]
    assert [k["id"] for k in apigw.get_usage_plan_keys(usagePlanId=plan["id"])["items"]] == [key["id"]]
    state = deployed.parent / ".gatewayproxy/quizapi.state.json"
    assert value not in state.read_text()
    assert not any(c.operation == "create_api_key" and "value" in c.params for c in calls)

    listed = run_keys("list", "--json", config=deployed)
    assert json.loads(listed.stdout) == [{"name": "mobile-app", "id": key["id"], "enabled": True,
                                          "created": json.loads(listed.stdout)[0]["created"],
                                          "in_usage_plan": True}]
    assert value not in listed.output and value not in run_keys("list", config=deployed).output

    again = run_keys("create", "mobile-app", config=deployed)
    assert again.exit_code == 1 and "already exists" in again.output
    assert len(apigw.get_api_keys()["items"]) == 1

    revoked = run_keys("revoke", "mobile-app", config=deployed)
    assert revoked.exit_code == 0, revoked.output
    assert apigw.get_api_keys()["items"] == []
    assert run_keys("revoke", "mobile-app", config=deployed).exit_code == 1
    check_down_removes_everything_and_keeps_the_function(deployed)


def test_a_key_create_cut_short_is_redone_with_one_key(deployed: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from gatewayproxy.aws import Aws

    original = Aws.call

    def crash(self: Aws, service: str, operation: str, /, **kwargs: object) -> object:
        if operation == "create_usage_plan_key":
            raise KeyboardInterrupt  # the key exists, it never joined the plan, nobody saw it
        return original(self, service, operation, **kwargs)

    monkeypatch.setattr(Aws, "call", crash)
    assert run_keys("create", "ci", config=deployed).exit_code != 0
    monkeypatch.setattr(Aws, "call", original)
    result = run_keys("create", "ci", config=deployed)
    assert result.exit_code == 0, result.output
    apigw = boto3.client("apigateway", region_name=REGION)
    [key] = apigw.get_api_keys(includeValues=True)["items"]
    assert key["value"] == result.stdout.strip()


def test_keys_need_an_api_key_route(moto_account: None, config_file: Path) -> None:
    result = run_keys("create", "x", config=config_file)
    assert result.exit_code == 1 and 'auth = "api_key"' in result.output
    assert run_keys("create", "bad name!", config=config_file).exit_code == 2


def check_down_removes_everything_and_keeps_the_function(deployed: Path) -> None:
    assert run_keys("create", "left-behind", config=deployed).exit_code == 0
    assert inventory(REGION)["lambda_permissions"] and inventory(REGION)["usage_plans"]
    result = run("down", "--yes", config=deployed)
    assert result.exit_code == 0, result.output
    left = {kind: items for kind, items in inventory(REGION).items() if items}
    assert not left, left
    fn = boto3.client("lambda", region_name=REGION).get_function(FunctionName="quiz-hook")
    assert fn["Configuration"]["FunctionName"] == "quiz-hook"  # the user's: never deleted


def test_down_without_state_still_finds_permission_plan_and_keys(deployed: Path) -> None:
    assert run_keys("create", "k", config=deployed).exit_code == 0
    (deployed.parent / ".gatewayproxy/quizapi.state.json").unlink()
    down = run("down", "--yes", config=deployed)
    assert down.exit_code == 0, down.output
    assert not any(access_inventory(REGION).values())


def test_auth_and_target_changes_are_planned_then_applied(deployed: Path, calls: list[Call],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    text = deployed.read_text()
    text = text.replace('[[api.routes]]\npath = "/hook"\nmethods = ["POST"]\nlambda = "quiz-hook"\n', "")
    text = text.replace('path = "/answers"\nmethods = ["GET"]\n',
                        'path = "/answers"\nmethods = ["GET"]\nauth = "iam"\n')
    deployed.write_text(text)
    calls.clear()
    monkeypatch.setenv("COLUMNS", "250")
    plan = run("plan", config=deployed)
    assert plan.exit_code == 0, plan.output
    lines = [line.strip() for line in plan.stdout.splitlines()]
    at = lines.index("~ API method  GET /answers")
    assert lines[at + 1] == "auth: none -> iam"
    assert "- API method  POST /hook" in lines
    assert "- API resource  /hook" in lines
    assert "~ API stage  live" in lines
    assert writes(calls) == []
    assert run("up", config=deployed).exit_code == 0
    assert method(api_id(), "/answers", "GET")["authorizationType"] == "AWS_IAM"
    assert access_inventory(REGION)["lambda_permissions"] == []
    assert [c.params["StatementId"] for c in calls if c.operation == "remove_permission"]


def test_no_api_key_route_means_no_usage_plan(deployed: Path) -> None:
    text = deployed.read_text().replace('auth = "api_key"\n', "")
    text = text[:text.index("[api.usage_plan]")] + text[text.index("[[api.routes]]"):]
    deployed.write_text(text)
    assert run("up", config=deployed).exit_code == 0
    assert boto3.client("apigateway", region_name=REGION).get_usage_plans()["items"] == []


def test_access_logs_off_and_throttle_removed(deployed: Path, calls: list[Call]) -> None:
    text = deployed.read_text().replace('throttle = { rate = 50, burst = 100 }\n',
                                        "access_logs = false\n")
    deployed.write_text(text)
    calls.clear()
    assert run("up", config=deployed).exit_code == 0
    [update] = [c.params for c in calls if c.operation == "update_stage"]
    ops = update["patchOperations"]
    assert {"op": "remove", "path": "/accessLogSettings"} in ops
    assert {"op": "remove", "path": "/*/*"} in ops  # moto ignores it; AWS drops the setting
    logs = boto3.client("logs", region_name=REGION)
    assert logs.describe_log_groups(logGroupNamePrefix="/gatewayproxy/quizapi/access")[
        "logGroups"] == []


def test_a_missing_lambda_function_fails_clearly(moto_account: None, tmp_path: Path,
                                                 calls: list[Call]) -> None:
    config = write(tmp_path / "gatewayproxy.toml")
    result = run("up", config=config)
    assert result.exit_code == 1
    assert "Lambda function quiz-hook does not exist in eu-west-1" in result.output
    assert "create_rest_api" not in [c.operation for c in calls]


def test_a_function_arn_with_an_alias(moto_account: None, tmp_path: Path,
                                      calls: list[Call]) -> None:
    arn = make_function()
    client = boto3.client("lambda", region_name=REGION)
    version = client.publish_version(FunctionName="quiz-hook")["Version"]
    client.create_alias(FunctionName="quiz-hook", Name="live", FunctionVersion=version)
    config = write(tmp_path / "gatewayproxy.toml", **{'lambda = "quiz-hook"': f'lambda = "{arn}:live"'})
    assert run("up", config=config).exit_code == 0
    [added] = [c.params for c in calls if c.operation == "add_permission"]
    assert added["FunctionName"] == arn and added["Qualifier"] == "live"
    integration = next(c.params for c in calls
                       if c.operation == "put_integration" and c.params["type"] == "AWS_PROXY")
    assert f"/functions/{arn}:live/invocations" in integration["uri"]
    assert run("down", "--yes", config=config).exit_code == 0
    assert [c.params["Qualifier"] for c in calls if c.operation == "remove_permission"] == ["live"]


def test_the_account_log_role_is_set_when_api_gateway_asks_for_it(
        moto_account: None, config_file: Path, monkeypatch: pytest.MonkeyPatch,
        calls: list[Call]) -> None:
    from gatewayproxy.aws import Aws
    from gatewayproxy.errors import AwsError

    original = Aws.call
    refused = []

    def no_role_yet(self: Aws, service: str, operation: str, /, **kwargs: object) -> object:
        if operation == "update_stage" and not refused:
            refused.append(1)
            raise AwsError("UpdateStage", "BadRequestException",
                           "CloudWatch Logs role ARN must be set in account settings to enable "
                           "logging")
        return original(self, service, operation, **kwargs)

    monkeypatch.setattr(Aws, "call", no_role_yet)
    result = run("up", config=config_file)
    assert result.exit_code == 0, result.output
    apigw = boto3.client("apigateway", region_name=REGION)
    role = apigw.get_account()["cloudwatchRoleArn"]
    assert role.endswith(f":role/{api_access.ACCOUNT_LOG_ROLE}")
    iam = boto3.client("iam", region_name=REGION)
    trust = iam.get_role(RoleName=api_access.ACCOUNT_LOG_ROLE)["Role"]["AssumeRolePolicyDocument"]
    assert "apigateway.amazonaws.com" in json.dumps(trust)
    assert run("down", "--yes", config=config_file).exit_code == 0
    left = {kind: items for kind, items in inventory(REGION).items() if items}
    assert left == {"roles": [api_access.ACCOUNT_LOG_ROLE]}  # account-wide: it stays, like the SLR
    assert EXPECTED["log_groups"] == 2


def test_the_keys_group_is_a_gatewayproxy_command() -> None:
    from click.testing import CliRunner

    from gatewayproxy.cli import main

    result = CliRunner().invoke(main, ["keys", "--help"])
    assert result.exit_code == 0 and "create" in result.output and "revoke" in result.output


def test_plan_names_each_api_resource_then_a_no_op_up_plans_none(moto_account: None,
                                                                 tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    make_function()
    config = write(tmp_path / "gatewayproxy.toml")
    monkeypatch.setenv("COLUMNS", "250")
    plan = run("plan", config=config)
    assert plan.exit_code == 0, plan.output
    lines = [line.strip() for line in plan.stdout.splitlines()]
    for row in ("+ REST API  gatewayproxy-quizapi-api", "+ API resource  /teams",
                "+ API resource  /teams/{team}", "+ API method  GET /teams/{team}",
                "+ API method  POST /teams/{team}", "+ API method  ANY /admin",
                "+ API method  POST /hook", "+ API stage  live",
                "+ usage plan  gatewayproxy-quizapi-plan",
                "+ log group  /gatewayproxy/quizapi/access",
                "+ Lambda permission  quiz-hook POST /hook"):
        assert row in lines, row
    assert run("up", config=config).exit_code == 0
    again = run("plan", config=config)
    assert not [line for line in again.stdout.splitlines()
                if line.startswith(("+", "~", "-")) and ("API" in line or "usage plan" in line
                                                         or "Lambda" in line or "log group" in line)]
