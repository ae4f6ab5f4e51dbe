"""API Gateway where AWS is stricter than moto: VPC links referenced by stages, INACTIVE v2
links, the backend path of private integrations, usage plan patches, the account's CloudWatch
role and the invoke-URL check. moto is patched in the test where it does not enforce AWS's rule,
and the parameters sent are asserted where moto drops them."""

from __future__ import annotations

import json
import tomllib
import urllib.error
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from access_fixtures import run
from conftest import CONFIG, REGION, Call, write_config, writes
from inventory import inventory

from gatewayproxy import config, probe
from gatewayproxy.aws import Aws
from gatewayproxy.errors import AwsError, GatewayProxyError
from gatewayproxy.resources import api_access
from gatewayproxy.steps import rest_api
from gatewayproxy.steps.target_group import LISTENER_PORT

ACCOUNT = "123456789012"
RENAME_AND_V2 = {'stage = "live"\n': 'stage = "prod"\nvpc_link = "v2"\n'}
V2 = {'stage = "live"\n': 'stage = "live"\nvpc_link = "v2"\n'}
V1 = {'stage = "live"\n': 'stage = "live"\nvpc_link = "v1"\n'}


# -- 2: a VPC link is deleted only once no stage's deployment uses it ---------------------------
class LinkReferences:
    """AWS's rule, which moto lacks: DeleteVpcLink (v1 and v2) is refused while any stage's
    deployment was made while an integration used the link. moto keeps no connectionId, so the
    links are recorded here from what is sent."""

    def __init__(self) -> None:
        self.integrations: dict[tuple[str, str, str], str] = {}  # (api, resource, method) -> link
        self.deployments: dict[tuple[str, str], set[str]] = {}  # (api, deployment) -> links
        self.stages: dict[tuple[str, str], str] = {}  # (api, stage) -> deployment
        self.fail_once: set[str] = set()  # operations that fail (a crash) the first time

    def before(self, service: str, operation: str, params: dict[str, Any]) -> None:
        if operation in self.fail_once:
            self.fail_once.discard(operation)
            raise AwsError(operation, "ServiceUnavailableException", "the run stops here")
        if operation == "delete_vpc_link":
            link = params.get("vpcLinkId") or params.get("VpcLinkId")
            users = [f"{api}:{stage}" for (api, stage), deployment in self.stages.items()
                     if link in self.deployments.get((api, deployment), set())]
            if users:
                raise AwsError("DeleteVpcLink", "BadRequestException",
                               f"Cannot delete vpc link {link}, because it is referenced in "
                               f"[{', '.join(users)}]")

    def after(self, service: str, operation: str, params: dict[str, Any], result: Any) -> None:
        api = params.get("restApiId", "")
        if service != "apigateway":
            return
        if operation == "put_integration":
            key = (api, params["resourceId"], params["httpMethod"])
            if params.get("connectionType") == "VPC_LINK":
                self.integrations[key] = params["connectionId"]
            else:
                self.integrations.pop(key, None)
        elif operation == "delete_method":
            self.integrations.pop((api, params["resourceId"], params["httpMethod"]), None)
        elif operation == "create_deployment":
            self.deployments[(api, result["id"])] = {
                link for (a, _, _), link in self.integrations.items() if a == api}
        elif operation == "create_stage":
            self.stages[(api, params["stageName"])] = params["deploymentId"]
        elif operation == "update_stage":
            for op in params["patchOperations"]:
                if op["path"] == "/deploymentId":
                    self.stages[(api, params["stageName"])] = op["value"]
        elif operation == "delete_stage":
            self.stages.pop((api, params["stageName"]), None)
        elif operation == "delete_rest_api":
            self.stages = {k: v for k, v in self.stages.items() if k[0] != api}


@pytest.fixture
def link_references(monkeypatch: pytest.MonkeyPatch) -> LinkReferences:
    rule = LinkReferences()
    original = Aws.call

    def call(self: Aws, service: str, operation: str, /, **kwargs: Any) -> Any:
        params = {k: v for k, v in kwargs.items() if k not in ("retry", "retry_for")}
        rule.before(service, operation, params)
        result = original(self, service, operation, **kwargs)
        rule.after(service, operation, params, result)
        return result

    monkeypatch.setattr(Aws, "call", call)
    return rule


def stage_names() -> list[str]:
    apigw = boto3.client("apigateway", region_name=REGION)
    [api] = apigw.get_rest_apis()["items"]
    return sorted(s["stageName"] for s in apigw.get_stages(restApiId=api["id"])["item"])


def test_renaming_the_stage_and_switching_link_generation_in_one_up_converges(
        moto_account: None, config_file: Path, link_references: LinkReferences,
        calls: list[Call]) -> None:
    write_config(config_file, **V1)
    assert run("up", config=config_file).exit_code == 0
    write_config(config_file, **RENAME_AND_V2)
    result = run("up", config=config_file)
    assert result.exit_code == 0, result.output
    ops = [c.operation for c in calls]
    assert ops.index("delete_stage") < ops.index("delete_vpc_link")  # stages move first
    found = inventory(REGION)
    assert (found["vpc_links"], len(found["vpc_links_v2"]), stage_names()) == ([], 1, ["prod"])
    calls.clear()
    assert run("up", config=config_file).exit_code == 0
    assert writes(calls) == []
    assert run("down", "--yes", config=config_file).exit_code == 0
    assert not any(inventory(REGION).values())


def test_a_switch_cut_short_before_the_deployment_converges_on_the_next_up(
        moto_account: None, config_file: Path, link_references: LinkReferences) -> None:
    write_config(config_file, **V1)
    assert run("up", config=config_file).exit_code == 0
    write_config(config_file, **RENAME_AND_V2)
    link_references.fail_once.add("create_deployment")  # integrations moved, nothing deployed
    assert run("up", config=config_file).exit_code == 1
    assert len(inventory(REGION)["vpc_links"]) == 1  # still used by the old stage
    result = run("up", config=config_file)
    assert result.exit_code == 0, result.output
    found = inventory(REGION)
    assert (found["vpc_links"], len(found["vpc_links_v2"]), stage_names()) == ([], 1, ["prod"])


# -- 5: an INACTIVE v2 link is alive -----------------------------------------------------------
@pytest.fixture
def inactive_links(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """moto's v2 links are always AVAILABLE and vanish on delete. Here every link reports
    INACTIVE, and a deleted one stays visible for two more GetVpcLink calls (AWS deletes
    asynchronously): `pending` counts the calls left per link."""
    from moto.apigatewayv2 import models

    pending: dict[str, int] = {}
    to_json = models.VpcLink.to_json
    get = models.ApiGatewayV2Backend.get_vpc_link

    def inactive(self: Any) -> dict[str, Any]:
        return {**to_json(self), "vpcLinkStatus": "INACTIVE"}

    def delete(self: Any, vpc_link_id: str) -> None:
        if vpc_link_id in self.vpc_links:
            pending.setdefault(vpc_link_id, 2)

    def get_link(self: Any, vpc_link_id: str) -> Any:
        if vpc_link_id in pending:
            pending[vpc_link_id] -= 1
            if pending[vpc_link_id] < 0:
                self.vpc_links.pop(vpc_link_id, None)
        return get(self, vpc_link_id)

    monkeypatch.setattr(models.VpcLink, "to_json", inactive)
    monkeypatch.setattr(models.ApiGatewayV2Backend, "delete_vpc_link", delete)
    monkeypatch.setattr(models.ApiGatewayV2Backend, "get_vpc_link", get_link)
    return pending


def test_an_inactive_v2_link_is_reused_kept_healthy_and_deleted_until_not_found(
        moto_account: None, config_file: Path, calls: list[Call],
        request: pytest.FixtureRequest) -> None:
    write_config(config_file, **V2)
    assert run("up", config=config_file).exit_code == 0
    [link] = inventory(REGION)["vpc_links_v2"]
    pending = request.getfixturevalue("inactive_links")  # 60 days without traffic
    calls.clear()
    result = run("up", config=config_file)
    assert result.exit_code == 0, result.output
    assert "create_vpc_link" not in [c.operation for c in calls]
    assert inventory(REGION)["vpc_links_v2"] == [link]
    report = json.loads(run("status", "--json", config=config_file).stdout)
    step = next(s for s in report["steps"] if s["name"] == "vpc_link")
    assert (step["healthy"], step["details"]["status"]) == (True, "INACTIVE")
    assert run("down", "--yes", config=config_file).exit_code == 0
    assert pending == {link: -1}  # polled until AWS no longer knew it
    assert not any(inventory(REGION).values())


def test_a_link_whose_deletion_failed_ends_down_at_once_with_the_reason(
        moto_account: None, config_file: Path, clock: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(config_file, **V2)
    assert run("up", config=config_file).exit_code == 0
    from moto.apigatewayv2 import models

    to_json = models.VpcLink.to_json
    monkeypatch.setattr(models.ApiGatewayV2Backend, "delete_vpc_link", lambda self, vpc_link_id: None)
    monkeypatch.setattr(models.VpcLink, "to_json", lambda self: {
        **to_json(self), "vpcLinkStatus": "FAILED", "vpcLinkStatusMessage": "ENI still in use"})
    result = run("down", "--yes", config=config_file)
    assert result.exit_code == 1
    assert "deletion is FAILED: ENI still in use" in result.output
    assert sum(clock.slept) < 60  # not the 20 minutes of the deletion wait


# -- 7: the container sees the route's path, without the stage ---------------------------------
ROUTES = CONFIG + """
[[api.routes]]
path = "/files/{proxy+}"
methods = ["ANY"]
"""


@pytest.mark.parametrize("generation", ["v1", "v2"])
def test_private_integrations_name_exactly_the_routes_path(generation: str) -> None:
    text = ROUTES.replace('stage = "live"\n', f'stage = "live"\nvpc_link = "{generation}"\n')
    ctx = SimpleNamespace(config=config.parse(tomllib.loads(text)))
    backend = {"dns": "internal-nlb.elb.example", "nlb_arn": "arn:nlb", "link_id": "lnk",
               "generation": generation}
    spec = rest_api.desired_methods(ctx, backend, {})  # type: ignore[arg-type]
    sent = {(path, verb): body["integration"] for path, verbs in spec.items()
            for verb, body in verbs.items()}
    base = f"http://internal-nlb.elb.example:{LISTENER_PORT}"
    assert {key: (i["uri"], i["requestParameters"]) for key, i in sent.items()} == {
        ("/answers", "GET"): (f"{base}/answers", {}),
        ("/answers", "POST"): (f"{base}/answers", {}),
        ("/teams/{team}", "GET"): (f"{base}/teams/{{team}}",
                                   {"integration.request.path.team": "method.request.path.team"}),
        ("/files/{proxy+}", "ANY"): (f"{base}/files/{{proxy}}",
                                     {"integration.request.path.proxy": "method.request.path.proxy"}),
    }
    for integration in sent.values():
        assert (integration["type"], integration["connectionType"]) == ("HTTP_PROXY", "VPC_LINK")
        assert ("integrationTarget" in integration) == (generation == "v2")


# -- 8: a quota is added to a plan that has none -----------------------------------------------
def test_a_quota_is_added_to_a_plan_without_one_and_replaced_on_one_that_has_it() -> None:
    stage = {"apiId": "api1", "stage": "live"}
    throttle = {"rateLimit": 5.0, "burstLimit": 10}
    quota = {"limit": 1000, "period": "DAY"}
    bare = {"apiStages": [stage], "throttle": {"rateLimit": 5.0, "burstLimit": 10}}
    assert api_access._plan_patch(bare, stage, throttle, quota) == [
        {"op": "add", "path": "/quota/limit", "value": "1000"},
        {"op": "add", "path": "/quota/period", "value": "DAY"}]
    limited = {**bare, "quota": {"limit": 500, "offset": 0, "period": "DAY"}}
    assert api_access._plan_patch(limited, stage, throttle, quota) == [
        {"op": "replace", "path": "/quota/limit", "value": "1000"}]
    assert api_access._plan_patch(limited, stage, throttle, None) == [
        {"op": "remove", "path": "/quota"}]
    unthrottled = {"apiStages": [stage], "quota": quota}
    assert api_access._plan_patch(unthrottled, stage, throttle, quota) == [
        {"op": "add", "path": "/throttle/rateLimit", "value": "5.0"},
        {"op": "add", "path": "/throttle/burstLimit", "value": "10"}]


# -- 11: the account's CloudWatch role has AWS's documented trust -------------------------------
PLAIN_TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}


@pytest.mark.parametrize("older_role", [False, True])
def test_the_account_log_role_trusts_api_gateway_without_conditions(
        aws: Aws, calls: list[Call], older_role: bool) -> None:
    iam = boto3.client("iam", region_name=REGION)
    if older_role:  # as an earlier gatewayproxy made it
        conditioned = {"Version": "2012-10-17", "Statement": [{
            **PLAIN_TRUST["Statement"][0],  # type: ignore[index]
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}]}
        iam.create_role(RoleName=api_access.ACCOUNT_LOG_ROLE,
                        AssumeRolePolicyDocument=json.dumps(conditioned),
                        Tags=[api_access.LOG_ROLE_TAG])
    ctx = SimpleNamespace(aws=aws, report=lambda step, message: None)
    api_access.ensure_account_log_role(ctx)  # type: ignore[arg-type]
    operation, key = (("update_assume_role_policy", "PolicyDocument") if older_role
                      else ("create_role", "AssumeRolePolicyDocument"))
    [sent] = [json.loads(c.params[key]) for c in calls if c.operation == operation]
    assert sent == PLAIN_TRUST
    trust = iam.get_role(RoleName=api_access.ACCOUNT_LOG_ROLE)["Role"]["AssumeRolePolicyDocument"]
    assert trust == PLAIN_TRUST
    account = boto3.client("apigateway", region_name=REGION).get_account()
    assert account["cloudwatchRoleArn"].endswith(f":role/{api_access.ACCOUNT_LOG_ROLE}")


def test_a_log_role_of_that_name_not_made_by_gatewayproxy_is_left_as_it_is(
        aws: Aws, calls: list[Call]) -> None:
    iam = boto3.client("iam", region_name=REGION)
    theirs = json.dumps(PLAIN_TRUST)
    iam.create_role(RoleName=api_access.ACCOUNT_LOG_ROLE, AssumeRolePolicyDocument=theirs)
    ctx = SimpleNamespace(aws=aws, report=lambda step, message: None)
    with pytest.raises(GatewayProxyError, match="not made by gatewayproxy"):
        api_access.ensure_account_log_role(ctx)  # type: ignore[arg-type]
    assert writes(calls) == []


# -- 12: the invoke-URL check asks a public route and reports the status as it is --------------
def parsed(routes: str) -> config.Config:
    head = CONFIG[:CONFIG.index("[[api.routes]]")]
    return config.parse(tomllib.loads(head + routes))


class Response:
    def __init__(self, status: int) -> None:
        self.status = status

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *args: object) -> None:
        return None


MIXED = """
[[api.routes]]
path = "/teams/{team}"
methods = ["GET"]
auth = "api_key"

[[api.routes]]
path = "/admin"
methods = ["ANY"]
auth = "iam"

[[api.routes]]
path = "/hook"
methods = ["GET"]
lambda = "quiz-hook"

[[api.routes]]
path = "/scores/{team}"
methods = ["ANY"]
"""


@pytest.mark.parametrize("status", [403, 429, 404])
def test_the_check_asks_the_first_public_service_route_and_names_no_source_for_a_4xx(
        monkeypatch: pytest.MonkeyPatch, status: int) -> None:
    asked: list[str] = []

    def urlopen(url: str, timeout: float) -> Response:
        asked.append(url)
        raise urllib.error.HTTPError(url, status, "refused", {}, None)  # type: ignore[arg-type]

    monkeypatch.setattr(probe.urllib.request, "urlopen", urlopen)
    line = probe.check("https://api.example/live", parsed(MIXED), sleep=lambda s: None)
    assert asked == ["https://api.example/live/scores/gatewayproxy"]
    assert line == f"answers: GET https://api.example/live/scores/gatewayproxy -> HTTP {status}"
    assert "container" not in line


def test_the_check_reports_a_2xx_and_retries_a_5xx(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([502, 200])

    def urlopen(url: str, timeout: float) -> Response:
        code = next(answers)
        if code >= 500:
            raise urllib.error.HTTPError(url, code, "bad gateway", {}, None)  # type: ignore[arg-type]
        return Response(code)

    slept: list[float] = []
    monkeypatch.setattr(probe.urllib.request, "urlopen", urlopen)
    line = probe.check("https://api.example/live", parsed(MIXED), sleep=slept.append)
    assert line == "answers: GET https://api.example/live/scores/gatewayproxy -> HTTP 200"
    assert slept == [probe.PAUSE_SECONDS]


def test_the_check_is_skipped_without_a_public_get_route(monkeypatch: pytest.MonkeyPatch) -> None:
    def urlopen(url: str, timeout: float) -> Response:
        raise AssertionError(f"asked {url}")

    monkeypatch.setattr(probe.urllib.request, "urlopen", urlopen)
    no_public_get = MIXED[:MIXED.index("[[api.routes]]\npath = \"/scores")] + """
[[api.routes]]
path = "/scores"
methods = ["POST"]
"""
    line = probe.check("https://api.example/live", parsed(no_public_get), sleep=lambda s: None)
    assert line.startswith("check skipped: ") and "auth = \"none\"" in line
