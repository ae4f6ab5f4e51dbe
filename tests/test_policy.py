"""`gatewayproxy policy`: a valid IAM document, scoped to the stack, a why per statement; and the
check that every AWS operation the suite performs has a row in the policy's table."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import conftest
import pytest
from access_fixtures import run
from botocore import xform_name
from conftest import CONFIG, unlisted_operations_message

from gatewayproxy import aws as aws_module
from gatewayproxy import policy
from gatewayproxy.state_store import S3Location

ACCOUNT = "123456789012"
REGION = "eu-west-1"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:quiz-hook"


def names(**changes: Any) -> policy.Names:
    given: dict[str, Any] = {"stack": "quizapi", "account": ACCOUNT, "region": REGION,
                             "state_bucket": "team-state", "state_key": "quizapi/state.json",
                             "functions": (FUNCTION,), "domain": "api.quiz.example.com",
                             **changes}
    return policy.Names(**given)


def statements(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in doc["Statement"]}


def resources(statement: dict[str, Any]) -> list[str]:
    found = statement["Resource"]
    return [found] if isinstance(found, str) else list(found)


def test_the_document_is_valid_iam_json() -> None:
    doc = json.loads(json.dumps(policy.document(names())))
    assert doc["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in doc["Statement"]]
    assert len(sids) == len(set(sids))
    for statement in doc["Statement"]:
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource", "Condition"}
        assert statement["Effect"] == "Allow" and statement["Action"] and statement["Resource"]
        assert re.fullmatch(r"[A-Za-z0-9]+", statement["Sid"]), statement["Sid"]
        for action in statement["Action"]:
            assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", action), action  # no `*` in any


def test_a_star_resource_only_where_the_sid_says_why() -> None:
    stars = [s for s in policy.document(names())["Statement"] if "*" in resources(s)]
    assert stars  # EC2 Describe*, ELB Describe*, task definitions, GetResources...
    for statement in stars:
        assert resources(statement) == ["*"]
        assert "AnyResourceBecause" in statement["Sid"], statement["Sid"]


def test_no_service_wide_action_and_nothing_unscoped_writes() -> None:
    """Every write on `*` is one AWS offers nothing narrower for (the Sid says which)."""
    for statement in policy.document(names())["Statement"]:
        if resources(statement) == ["*"] and "Condition" not in statement:
            writes = [a for a in statement["Action"]
                      if not a.split(":")[1].startswith(("Describe", "List", "Get"))]
            assert set(writes) <= {"ecs:DeregisterTaskDefinition",
                                   "ec2:CreateVpcEndpointServiceConfiguration",
                                   "ec2:DeleteVpcEndpointServiceConfigurations",
                                   "ec2:ModifyVpcEndpointServicePermissions"}, statement["Sid"]


def test_every_arn_is_this_account_and_region() -> None:
    for statement in policy.document(names())["Statement"]:
        for arn in resources(statement):
            if arn == "*":
                continue
            _, partition, service, region, account, _ = arn.split(":", 5)
            assert partition == "aws"
            assert region == ("" if service in ("iam", "s3", "route53") else REGION), arn
            if "vpc-endpoint-service/" in arn:  # AWS's own services, in AWS's accounts
                assert account == "*", arn
                continue
            assert account == ("" if service in ("apigateway", "s3", "route53") else ACCOUNT), arn


def test_resources_are_the_stacks_by_name() -> None:
    found = statements(policy.document(names()))
    arn = f"{REGION}:{ACCOUNT}"
    assert resources(found["EcsReadTheStackClusterAndService"]) == [
        f"arn:aws:ecs:{arn}:cluster/gatewayproxy-quizapi-cluster",
        f"arn:aws:ecs:{arn}:service/gatewayproxy-quizapi-cluster/quizapi"]
    assert f"arn:aws:ecs:{arn}:task-definition/gatewayproxy-quizapi-app:*" in resources(
        found["EcsTagOnlyWhileCreatingWithTheStackTag"])
    assert resources(found["IamCreateTheStackRolesWithTheStackTag"]) == [
        f"arn:aws:iam::{ACCOUNT}:role/gatewayproxy-quizapi-*"]
    assert resources(found["ElbChangeOnlyTheStackNamesTaggedWithTheStack"]) == [
        f"arn:aws:elasticloadbalancing:{arn}:loadbalancer/net/quizapi-nlb/*",
        f"arn:aws:elasticloadbalancing:{arn}:listener/net/quizapi-nlb/*/*",
        f"arn:aws:elasticloadbalancing:{arn}:targetgroup/quizapi-tg-*/*"]
    assert f"arn:aws:logs:{arn}:log-group:/gatewayproxy/quizapi:*" in resources(
        found["LogsTheStackLogGroups"])
    assert f"arn:aws:apigateway:{REGION}::/restapis/*" in resources(
        found["ApiGatewayChangeInThisRegionBecauseItsArnsNameIdsNotNames"])
    assert resources(found["LambdaTheFunctionsTheRoutesName"]) == [FUNCTION, f"{FUNCTION}:*"]


def test_tag_conditions_name_the_stack() -> None:
    found = statements(policy.document(names()))
    created = found["Ec2CreateOnlyWithTheStackTag"]["Condition"]
    assert created["StringEquals"] == {"aws:RequestTag/gatewayproxy:stack": "quizapi"}
    assert "gatewayproxy:stack" in created["ForAllValues:StringEquals"]["aws:TagKeys"]
    assert found["Ec2ChangeOnlyResourcesTaggedWithTheStack"]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/gatewayproxy:stack": "quizapi"}}
    tagging = found["Ec2TagOnlyWhileCreatingWithTheStackTag"]
    assert tagging["Action"] == ["ec2:CreateTags"]
    assert "CreateVpc" in tagging["Condition"]["StringEquals"]["ec2:CreateAction"]
    assert found["EcsTagOnlyWhileCreatingWithTheStackTag"]["Condition"]["StringEquals"][
        "ecs:CreateAction"] == ["CreateCluster", "CreateService", "RegisterTaskDefinition"]


def test_pass_role_only_the_stacks_roles_to_ecs_tasks() -> None:
    passing = [s for s in policy.document(names())["Statement"] if "iam:PassRole" in s["Action"]]
    to_ecs = statements({"Statement": passing})["IamPassTheStackRolesOnlyToEcsTasks"]
    assert to_ecs["Action"] == ["iam:PassRole"]
    assert to_ecs["Resource"] == [f"arn:aws:iam::{ACCOUNT}:role/gatewayproxy-quizapi-*"]
    assert to_ecs["Condition"] == {"StringEquals": {
        "iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    for statement in passing:  # every PassRole names the service it may be passed to
        assert "iam:PassedToService" in statement["Condition"]["StringEquals"]


def test_service_linked_roles_only_for_the_services_that_need_them() -> None:
    linked = statements(policy.document(names()))[
        "IamCreateOnlyTheServiceLinkedRolesOfEcsElbAutoScalingAndApiGateway"]
    assert linked["Action"] == ["iam:CreateServiceLinkedRole"]
    assert "ecs.amazonaws.com" in linked["Condition"]["StringEquals"]["iam:AWSServiceName"]
    assert (f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"
            in linked["Resource"])


def test_the_s3_state_bucket_and_key_only_for_an_s3_state() -> None:
    found = statements(policy.document(names()))
    assert resources(found["S3TheStateObjectAndItsLock"]) == [
        "arn:aws:s3:::team-state/quizapi/state.json",
        "arn:aws:s3:::team-state/quizapi/state.json.lock",
        "arn:aws:s3:::team-state/quizapi/state.json.pulled-*"]  # `state pull` moves it aside
    assert resources(found["S3TheStateBucket"]) == ["arn:aws:s3:::team-state"]
    local = policy.document(names(state_bucket=None, state_key=None))
    assert not any(a.startswith("s3:") for s in local["Statement"] for a in s["Action"])


def test_no_lambda_statement_without_lambda_routes() -> None:
    doc = policy.document(names(functions=()))
    assert not any(a.startswith("lambda:") for s in doc["Statement"] for a in s["Action"])


@pytest.mark.parametrize(("given", "expected"), [
    (S3Location("team-state", "quizapi/state.json"), ("team-state", "quizapi/state.json")),
    (Path(".gatewayproxy/quizapi.state.json"), (None, None)),
])
def test_state_names(given: S3Location | Path, expected: tuple[str | None, str | None]) -> None:
    assert policy.state_names(given) == expected


def test_the_state_is_where_the_session_puts_it(moto_account: None, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The policy names the state the commands use (one precedence: state_store.choose)."""
    config = tmp_path / "gatewayproxy.toml"
    config.write_text(CONFIG.replace('[stack]\n', '[stack]\nstate = "s3://from-config/a/s.json"\n', 1))
    monkeypatch.setenv("GATEWAYPROXY_STATE", "s3://from-env/b/s.json")
    shown = run("policy", "--json", config=config)
    assert shown.exit_code == 0, shown.output
    found = statements(json.loads(shown.output))
    assert resources(found["S3TheStateBucket"]) == ["arn:aws:s3:::from-env"]
    flagged = run("policy", "--json", "--state", "s3://from-flag/c/s.json", config=config)
    assert resources(statements(json.loads(flagged.output))["S3TheStateBucket"]) == [
        "arn:aws:s3:::from-flag"]


def test_lambda_arns_from_names_and_arns() -> None:
    assert policy.lambda_arns(["quiz-hook", f"{FUNCTION}:live"], REGION, ACCOUNT) == (FUNCTION,)


def test_the_text_has_a_why_line_above_each_statement() -> None:
    shown = policy.text(names()).splitlines()
    whys = [i for i, line in enumerate(shown) if line.strip().startswith("# why: ")]
    assert len(whys) == len(policy.document(names())["Statement"])
    assert all(shown[i + 1].strip() == "{" and '"Sid"' in shown[i + 2] for i in whys)
    without_comments = "\n".join(line for line in shown if not line.lstrip().startswith("#"))
    assert json.loads(without_comments) == policy.document(names())


# -- the table -------------------------------------------------------------------------------------

def _model(service: str) -> dict[str, Any]:
    model: dict[str, Any] = aws_module._shared_loader().load_service_model(service, "service-2")
    return model


def test_every_row_is_a_botocore_operation_and_its_derived_action_is_its_api_name() -> None:
    for op in policy.OPERATIONS:
        if op.operation.startswith("+"):
            assert op.actions, op.operation  # a permission without an API call names its actions
            continue
        service, operation = op.operation.split(".")
        api_names = {xform_name(name): name for name in _model(service)["operations"]}
        assert operation in api_names, op.operation
        if not op.actions:
            assert op.iam_actions[0].split(":")[1] == api_names[operation], op.operation


def test_every_row_lands_in_a_statement() -> None:
    rendered = {a for s in policy.document(names())["Statement"] for a in s["Action"]}
    for op in policy.OPERATIONS:
        if policy.NO_PERMISSION in op.scopes:
            continue
        for scope in op.scopes:
            assert set(scope.actions or op.iam_actions) <= rendered, op.operation


def test_the_domain_statements_only_with_a_domain_and_only_its_records() -> None:
    found = statements(policy.document(names()))
    records = found["Route53ChangeOnlyTheDomainRecords"]["Condition"]["ForAllValues:StringLike"]
    assert records["route53:ChangeResourceRecordSetsNormalizedRecordNames"] == [
        "api.quiz.example.com", "_*.api.quiz.example.com"]  # the aliases, ACM's validation CNAME
    assert found["ApiGatewayTheCustomDomainName"]["Resource"][1] == (
        f"arn:aws:apigateway:{REGION}::/domainnames/api.quiz.example.com")
    assert found["AcmDeleteOnlyCertificatesTaggedWithTheStack"]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/gatewayproxy:stack": "quizapi"}}
    without = statements(policy.document(names(domain=None)))
    assert not [sid for sid in without if sid.startswith(("Acm", "Route53", "ApiGatewayTheCustom"))]


def test_missing_names_each_operation_without_a_row() -> None:
    assert policy.missing([("ec2", "create_vpc"), ("ec2", "run_instances"),
                           ("ecs", "run_task"), ("ec2", "run_instances")]) == [
        "ec2.run_instances", "ecs.run_task"]
    assert policy.missing([("sts", "get_caller_identity")]) == []


def test_the_suites_check_names_a_missing_operation_and_ignores_fake_ones() -> None:
    message = unlisted_operations_message({("ec2", "create_vpc"), ("ec2", "run_instances"),
                                           ("fake", "frobnicate"), ("ec2", "frobnicate")})
    assert message.splitlines() == [
        "ec2.run_instances: performed by the suite but not in gatewayproxy/policy.py's "
        "OPERATIONS: add its row (IAM action, scope, why)"]
    assert unlisted_operations_message({("ec2", "create_vpc")}) == ""


def test_the_suites_check_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The controller's session finish turns a missing operation into a failed run."""

    class Session:
        exitstatus = pytest.ExitCode.OK

        class config:  # noqa: N801 - what pytest's Config offers the hook
            stash = pytest.Stash()

    Session.config.stash[conftest._performed_key] = {("ec2", "run_instances")}
    monkeypatch.setattr(conftest, "PERFORMED", {("ecs", "run_task")})
    conftest.pytest_sessionfinish(Session, 0)  # type: ignore[arg-type]
    assert Session.exitstatus == pytest.ExitCode.TESTS_FAILED
    assert "ec2.run_instances" in Session.config.stash[conftest._unlisted_key]
    assert "ecs.run_task" in Session.config.stash[conftest._unlisted_key]


def test_a_worker_hands_its_operations_to_the_controller(monkeypatch: pytest.MonkeyPatch) -> None:
    class Worker:
        class config:  # noqa: N801
            workeroutput: dict[str, Any] = {}
            stash = pytest.Stash()

    monkeypatch.setattr(conftest, "PERFORMED", {("ec2", "run_instances")})
    conftest.pytest_sessionfinish(Worker, 0)  # type: ignore[arg-type]
    assert Worker.config.workeroutput[conftest.OPERATIONS_KEY] == [("ec2", "run_instances")]

    class Node:
        workeroutput = Worker.config.workeroutput

        class config:  # noqa: N801
            stash = pytest.Stash()

    Node.config.stash[conftest._performed_key] = set()
    conftest.pytest_testnodedown(Node, None)
    assert Node.config.stash[conftest._performed_key] == {("ec2", "run_instances")}


# -- the command -----------------------------------------------------------------------------------

def test_the_command_prints_the_stacks_policy(moto_account: None, tmp_path: Path) -> None:
    config = tmp_path / "gatewayproxy.toml"
    config.write_text(CONFIG)
    shown = run("policy", "--json", "--state", "s3://team-state/quizapi/state.json", config=config)
    assert shown.exit_code == 0, shown.output
    doc = json.loads(shown.output)
    found = statements(doc)
    assert "arn:aws:s3:::team-state/quizapi/state.json" in found["S3TheStateObjectAndItsLock"][
        "Resource"]
    assert found["EcsReadTheStackClusterAndService"]["Resource"][0] == (
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/gatewayproxy-quizapi-cluster")  # moto's account
    text = run("policy", config=config)  # a local state: no S3 statements
    assert text.exit_code == 0
    assert text.output.count("# why: ") == len(doc["Statement"]) - 2
    assert "arn:aws:s3" not in text.output
    assert not (tmp_path / ".gatewayproxy").exists()  # it writes nothing


def test_the_parts_fit_iams_managed_policy_size_and_hold_every_statement() -> None:
    doc = policy.document(names())
    cut = policy.parts(names())
    assert policy.size(doc) > policy.MANAGED_POLICY_LIMIT  # the reason parts exist
    assert len(cut) > 1
    assert all(policy.size(part) <= policy.MANAGED_POLICY_LIMIT for part in cut)
    assert all(part["Version"] == "2012-10-17" for part in cut)
    assert [s for part in cut for s in part["Statement"]] == doc["Statement"]
    assert f"attach {len(cut)} (`--json --part 1` to `--part {len(cut)}`)" in policy.text(names())


def test_the_command_prints_one_part(moto_account: None, tmp_path: Path) -> None:
    config = tmp_path / "gatewayproxy.toml"
    config.write_text(CONFIG)
    first = run("policy", "--json", "--part", "1", config=config)
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["Statement"][0]["Sid"].startswith("Ec2Describe")
    beyond = run("policy", "--json", "--part", "99", config=config)
    assert beyond.exit_code == 2 and "--part takes --json and a number from 1 to" in beyond.output


def test_the_arns_match_the_names_the_resources_use(tmp_path: Path) -> None:
    """The policy's names come from the same conventions as the resources' (no drift)."""
    from fnmatch import fnmatchcase

    from resources.fakes import context

    from gatewayproxy.resources import api_access, ecs_cluster, iam_role, nlb, target_group
    from gatewayproxy.resources import task_definition as td

    ctx, fake = context(tmp_path)
    doc = policy.document(names(account=fake.account_id, region=fake.region))
    allowed = [arn for s in doc["Statement"] for arn in resources(s)]
    arn = f"{fake.region}:{fake.account_id}"
    wanted = [
        f"arn:aws:ecs:{arn}:cluster/{ecs_cluster.cluster_name(ctx)}",
        f"arn:aws:ecs:{arn}:task-definition/{td.family(ctx)}:7",
        f"arn:aws:iam::{fake.account_id}:role/{iam_role.role_name(ctx)}",
        f"arn:aws:iam::{fake.account_id}:role/{api_access.ACCOUNT_LOG_ROLE}",
        f"arn:aws:logs:{arn}:log-group:{td.log_group(ctx)}:*",
        f"arn:aws:logs:{arn}:log-group:{api_access.access_log_group(ctx)}:*",
        f"arn:aws:elasticloadbalancing:{arn}:loadbalancer/net/{nlb.nlb_name(ctx)}/0123456789abcdef",
        f"arn:aws:elasticloadbalancing:{arn}:targetgroup/{target_group.group_name(ctx)}/0123abcd",
    ]
    for needed in wanted:
        assert any(fnmatchcase(needed, pattern) for pattern in allowed), needed
    assert policy.ACCOUNT_LOG_ROLE == api_access.ACCOUNT_LOG_ROLE
    assert policy.EXECUTION_POLICY == iam_role.EXECUTION_POLICY
