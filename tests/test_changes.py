"""Edit the config, run `plan` then `up`: the difference is applied in place, and only it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner, Result
from conftest import CONFIG, REGION, Call, write_config, writes
from inventory import counts
from test_lifecycle import EXPECTED
from worlds import made_once

from gatewayproxy.cli import main


def run(*args: str, config: Path) -> Result:
    return CliRunner().invoke(main, [*args, "-c", str(config)], input="", catch_exceptions=False)


@dataclass
class Row:
    """One resource line of `plan`, with its field changes."""

    symbol: str
    kind: str
    name: str
    changes: list[str] = field(default_factory=list)


def plan_rows(output: str) -> list[Row]:
    """The resource lines of `plan` (`+ NAT gateway  quizapi-nat`, changes indented below)."""
    rows: list[Row] = []
    for line in output.splitlines():
        if line.startswith("    ") and rows:
            rows[-1].changes.append(line.strip())
        elif line.split(" ", 1)[0] in ("+", "~", "-/+", "-") and "  " in line:
            symbol, rest = line.split(" ", 1)
            kind, name = rest.split("  ", 1)
            rows.append(Row(symbol, kind, name))
    return rows


def by_kind(rows: list[Row], kind: str) -> list[Row]:
    return [r for r in rows if r.kind == kind]


@pytest.fixture
def deployed(moto_account: None, config_file: Path) -> Path:
    """The default stack, up (made by one test of the process, restored for the others)."""
    made_once(("test_changes.deployed", CONFIG), config_file.parent,
              lambda: _assert_up(run("up", config=config_file)))
    return config_file


def _assert_up(result: Result) -> None:
    assert result.exit_code == 0, result.output


def test_plan_of_an_unchanged_stack_is_all_nothing(deployed: Path, calls: list[Call]) -> None:
    result = run("plan", "--detailed-exitcode", config=deployed)
    assert result.exit_code == 0, result.output
    assert result.stdout == "No changes.\n"
    assert writes(calls) == []


def test_plan_of_a_new_stack_lists_what_up_then_creates(moto_account: None, config_file: Path,
                                                        calls: list[Call]) -> None:
    result = run("plan", "--detailed-exitcode", config=config_file)
    assert result.exit_code == 2, result.output
    rows = plan_rows(result.stdout)
    assert rows and all(row.symbol == "+" for row in rows), rows
    assert ("+", "NAT gateway") in {(r.symbol, r.kind) for r in rows}
    assert result.stdout.splitlines()[-1] == \
        f"Plan: {len(rows)} to add, 0 to change, 0 to replace, 0 to destroy."
    assert "create_" not in result.stdout and "put_" not in result.stdout  # no boto3 names
    assert writes(calls) == []
    assert not (config_file.parent / ".gatewayproxy" / "quizapi.state.json").exists()
    assert "NAT gateway" in result.stderr and "$" in result.stderr  # the cost estimate

    as_json = json.loads(run("plan", "--json", config=config_file).stdout)
    assert as_json["summary"] == {"add": len(rows), "change": 0, "replace": 0, "destroy": 0}
    assert [(r["kind"], r["name"], r["action"]) for r in as_json["resources"]] == \
        [(r.kind, r.name, "create") for r in rows]

    up = run("up", config=config_file)
    assert up.exit_code == 0, up.output
    created = [line for line in up.stdout.splitlines() if line.startswith("+ ")]
    assert created == [f"+ {r.kind}  {r.name}" for r in rows]  # what plan said, nothing else
    assert up.stdout.splitlines()[-1] == \
        f"Apply complete: {len(rows)} added, 0 changed, 0 replaced, 0 destroyed."


def test_an_image_change_is_planned_then_applied_as_a_rolling_update(
        deployed: Path, calls: list[Call]) -> None:
    write_config(deployed, **{"nginx:1.27": "nginx:1.28"})
    calls.clear()
    plan = run("plan", config=deployed)
    assert writes(calls) == []
    rows = plan_rows(plan.stdout)
    assert [(r.symbol, r.kind) for r in rows] == [("~", "task definition"), ("~", "ECS service")]
    assert "image: public.ecr.aws/nginx/nginx:1.27 -> public.ecr.aws/nginx/nginx:1.28" \
        in rows[0].changes
    assert plan.stdout.splitlines()[-1] == \
        "Plan: 0 to add, 2 to change, 0 to replace, 0 to destroy."

    calls.clear()
    up = run("up", config=deployed)
    assert up.exit_code == 0
    assert writes(calls) == ["ecs.register_task_definition", "ecs.update_service"]
    assert up.stdout.splitlines()[-1] == "Apply complete: 0 added, 2 changed, 0 replaced, 0 destroyed."
    ecs = boto3.client("ecs", region_name=REGION)
    service = ecs.describe_services(cluster="gatewayproxy-quizapi-cluster",
                                    services=["quizapi"])["services"][0]
    image = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])[
        "taskDefinition"]["containerDefinitions"][0]["image"]
    assert image.endswith("nginx:1.28") and service["taskDefinition"].endswith(":2")


def test_desired_count_is_an_in_place_update(deployed: Path, calls: list[Call]) -> None:
    write_config(deployed, **{"desired_count = 2": "desired_count = 3"})
    calls.clear()
    assert run("up", config=deployed).exit_code == 0
    assert writes(calls) == ["ecs.update_service"]
    sent = [c.params for c in calls if c.operation == "update_service"]
    assert sent == [{"cluster": "gatewayproxy-quizapi-cluster", "service": "quizapi",
                     "desiredCount": 3}]


def test_a_port_change_swaps_target_groups_and_leaves_no_duplicate(
        deployed: Path, calls: list[Call]) -> None:
    elb = boto3.client("elbv2", region_name=REGION)
    old = elb.describe_target_groups()["TargetGroups"][0]["TargetGroupArn"]
    write_config(deployed, **{"port = 8080": "port = 9090"})
    plan = plan_rows(run("plan", config=deployed).stdout)
    assert ("+", "target group", "quizapi-tg-9090") in {(r.symbol, r.kind, r.name) for r in plan}
    assert ("-", "target group", "quizapi-tg-8080") in {(r.symbol, r.kind, r.name) for r in plan}
    calls.clear()
    assert run("up", config=deployed).exit_code == 0
    groups = elb.describe_target_groups()["TargetGroups"]
    assert [g["TargetGroupName"] for g in groups] == ["quizapi-tg-9090"]
    assert groups[0]["Port"] == 9090 and groups[0]["TargetGroupArn"] != old
    nlb = elb.describe_load_balancers()["LoadBalancers"][0]["LoadBalancerArn"]
    listener = elb.describe_listeners(LoadBalancerArn=nlb)["Listeners"][0]
    assert listener["DefaultActions"][0]["TargetGroupArn"] == groups[0]["TargetGroupArn"]
    update = next(c.params for c in calls if c.operation == "update_service")
    assert update["loadBalancers"][0]["containerPort"] == 9090
    ec2 = boto3.client("ec2", region_name=REGION)
    group = ec2.describe_security_groups(
        Filters=[{"Name": "tag:gatewayproxy:stack", "Values": ["quizapi"]}])["SecurityGroups"][0]
    assert [(p["FromPort"], p["ToPort"]) for p in group["IpPermissions"]] == [(9090, 9090)]
    # One of everything; the task definition keeps its earlier revision (history, for rollback).
    assert dict(counts(REGION)) == {**EXPECTED, "task_definitions": 2}
    calls.clear()
    assert run("up", config=deployed).exit_code == 0
    assert writes(calls) == []


def test_routes_and_stage_changes_redeploy_once(deployed: Path, calls: list[Call]) -> None:
    write_config(deployed, **{'path = "/answers"': 'path = "/replies"',
                              'stage = "live"': 'stage = "v2"'})
    rows = {(r.symbol, r.kind, r.name) for r in plan_rows(run("plan", config=deployed).stdout)}
    assert {("+", "API method", "GET /replies"), ("-", "API method", "GET /answers")} <= rows, rows
    assert {("+", "API stage", "v2"), ("-", "API stage", "live")} <= rows, rows
    calls.clear()
    assert run("up", config=deployed).exit_code == 0
    assert writes(calls).count("apigateway.create_deployment") == 1
    apigw = boto3.client("apigateway", region_name=REGION)
    api = apigw.get_rest_apis()["items"][0]["id"]
    paths = sorted(r["path"] for r in apigw.get_resources(restApiId=api)["items"])
    assert paths == ["/", "/replies", "/teams", "/teams/{team}"]
    assert [s["stageName"] for s in apigw.get_stages(restApiId=api)["item"]] == ["v2"]
    url = run("url", config=deployed)
    assert url.stdout == f"https://{api}.execute-api.{REGION}.amazonaws.com/v2\n"


@pytest.mark.parametrize("old, new, field, change", [
    ('[api]', '[network]\nvpc_cidr = "10.30.0.0/16"\n\n[api]',
     "network.vpc_cidr", ("10.0.0.0/16", "10.30.0.0/16")),
    ('[api]', '[network]\navailability_zones = 3\n\n[api]',
     "network.availability_zones", ("2", "3")),
])
def test_changes_that_need_a_new_network_are_planned_as_a_replacement_and_refused(
        deployed: Path, calls: list[Call], old: str, new: str, field: str,
        change: tuple[str, str]) -> None:
    """One piece of advice, in the same words: `plan` shows the replacement, `up` refuses it."""
    write_config(deployed, **{old: new})
    advice = "the network cannot change in place: run `gatewayproxy down`, then `up`"
    calls.clear()
    plan = run("plan", config=deployed)
    assert plan.exit_code == 0, plan.output
    rows = plan_rows(plan.stdout)
    # down, then up, rebuilds everything on the new network: every resource says so.
    replaced = [r for r in rows if r.symbol == "-/+"]
    assert ("-/+", "VPC") in {(r.symbol, r.kind) for r in rows}, rows
    assert all(r.changes == [f"{field}: {change[0]} -> {change[1]}"] for r in replaced), rows
    # Only what a third zone adds is new; nothing is updated in place or left behind.
    added = {r.name for r in rows if r.symbol == "+"}
    assert all("-2" in name for name in added), added
    assert len(replaced) + len(added) == len(rows)
    assert advice in plan.stderr
    assert writes(calls) == []
    up = run("up", config=deployed)
    assert up.exit_code == 1
    assert up.output.strip().splitlines() == [
        f"Error: {field} changed from {change[0]} to {change[1]}; {advice}"]
    assert writes(calls) == []


def test_progress_is_plain_lines_when_not_on_a_terminal(moto_account: None,
                                                        config_file: Path) -> None:
    result = CliRunner().invoke(main, ["up", "-c", str(config_file)], catch_exceptions=False)
    assert result.exit_code == 0
    progress = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert "[0:00] 1. task_definition started" in progress  # the run's (fake) clock, not the wall's
    assert any(line.endswith("9. rest_api started") for line in progress)
    assert "\x1b[" not in result.stderr  # no colour codes, no cursor movement


def test_environment_changes_name_the_variables_and_never_show_a_value(
        moto_account: None, config_file: Path) -> None:
    """plan and up (with -v) say which variables changed, never their values (a value may be a
    secret, and this output ends up in CI logs); status --json shows none either."""
    before = 'environment = { GREETING = "old-greeting-value", GONE = "gone-value" }'
    after = 'environment = { GREETING = "new-greeting-value", TOKEN = "added-token-value" }'
    values = ("old-greeting-value", "gone-value", "new-greeting-value", "added-token-value")
    write_config(config_file, **{'environment = { GREETING = "hello" }': before})
    assert run("up", config=config_file).exit_code == 0
    write_config(config_file, **{'environment = { GREETING = "hello" }': after})

    plan = run("plan", config=config_file)
    up = CliRunner().invoke(main, ["-v", "up", "-c", str(config_file)], catch_exceptions=False)
    report = run("status", "--json", config=config_file)
    for result in (plan, up, report):
        assert result.exit_code == 0, result.output
        leaked = [v for v in values if v in result.stdout or v in result.stderr]
        assert not leaked, (leaked, result.output)
    [task] = by_kind(plan_rows(plan.stdout), "task definition")
    changed = " ".join(task.changes)
    assert all(name in changed for name in ("GREETING", "TOKEN", "GONE")), task
    assert all(name in up.stdout for name in ("GREETING", "TOKEN", "GONE")), up.stdout
