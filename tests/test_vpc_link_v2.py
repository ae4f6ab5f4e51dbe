"""`api.vpc_link = "v2"`: an API Gateway v2 link in the private subnets, used from the REST
integrations with `integrationTarget`; switching generations replaces the link, never doubles it."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from access_fixtures import run
from conftest import REGION, Call, write_config
from inventory import counts, inventory
from test_lifecycle import EXPECTED

V2 = {'stage = "live"\n': 'stage = "live"\nvpc_link = "v2"\n'}
V1 = {'stage = "live"\n': 'stage = "live"\nvpc_link = "v1"\n'}
# The v2 link (the default) brings its own security group; the v1 link does not.
EXPECTED_V2 = EXPECTED
EXPECTED_V1 = {**EXPECTED, "vpc_links": 1, "vpc_links_v2": 0, "security_groups": 1}


def expected(counted: dict[str, int]) -> dict[str, int]:
    return {kind: n for kind, n in counted.items() if n}


@pytest.fixture
def v2_stack(moto_account: None, config_file: Path) -> Path:
    write_config(config_file, **V2)
    result = run("up", config=config_file)
    assert result.exit_code == 0, result.output
    return config_file


def test_v2_link_is_built_in_the_private_subnets_and_used_with_the_nlb_as_target(
        moto_account: None, config_file: Path, calls: list[Call]) -> None:
    write_config(config_file, **V2)
    assert run("up", config=config_file).exit_code == 0
    assert dict(counts(REGION)) == expected(EXPECTED_V2)
    state = json.loads((config_file.parent / ".gatewayproxy/quizapi.state.json").read_text())
    [create] = [c.params for c in calls if c.operation == "create_vpc_link"]
    ec2 = boto3.client("ec2", region_name=REGION)
    private = ec2.describe_subnets(Filters=[{"Name": "tag:gatewayproxy:step",
                                             "Values": ["private_subnet"]}])["Subnets"]
    assert sorted(create["SubnetIds"]) == sorted(s["SubnetId"] for s in private)
    assert len(private) == 2
    [group] = create["SecurityGroupIds"]
    assert group == state["steps"]["vpc_link"]["resources"]["security_group"]
    assert create["Tags"]["gatewayproxy:stack"] == "quizapi"
    link_id = inventory(REGION)["vpc_links_v2"][0]
    nlb = inventory(REGION)["load_balancers"][0]
    integrations = [c.params for c in calls if c.operation == "put_integration"]
    assert len(integrations) == 3
    for sent in integrations:  # moto keeps neither connectionId nor integrationTarget
        assert (sent["connectionType"], sent["connectionId"]) == ("VPC_LINK", link_id)
        assert sent["integrationTarget"] == nlb
    report = json.loads(run("status", "--json", config=config_file).stdout)
    link = next(s for s in report["steps"] if s["name"] == "vpc_link")
    assert link["details"]["generation"] == "v2" and link["summary"].startswith("VPC link (v2)")
    assert report["healthy"]
    assert run("down", "--yes", config=config_file).exit_code == 0
    assert not any(inventory(REGION).values())


def test_switching_v2_to_v1_replaces_the_link_and_redeploys(v2_stack: Path,
                                                            calls: list[Call],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    old = inventory(REGION)["vpc_links_v2"]
    write_config(v2_stack, **V1)  # back to v1, by name
    monkeypatch.setenv("COLUMNS", "250")
    plan = run("plan", config=v2_stack)
    flat = " ".join(plan.stdout.split())
    assert "+ VPC link gatewayproxy-quizapi-link" in flat  # the v1 link is made...
    assert "- VPC link (v2) gatewayproxy-quizapi-link" in flat  # ...the v2 one and its group go
    assert "- security group gatewayproxy-quizapi-link" in flat
    calls.clear()
    assert run("up", config=v2_stack).exit_code == 0
    assert dict(counts(REGION)) == expected(EXPECTED_V1)
    assert inventory(REGION)["vpc_links_v2"] == [] and old
    v1 = inventory(REGION)["vpc_links"][0]
    sent = [c.params for c in calls if c.operation == "put_integration"]
    assert sent and all(s["connectionId"] == v1 and "integrationTarget" not in s for s in sent)
    ops = [c.operation for c in calls]
    assert ops.index("create_deployment") < ops.index("delete_vpc_link")  # moved, then deleted
    calls.clear()
    assert run("up", config=v2_stack).exit_code == 0
    assert [c for c in calls if not c.operation.startswith(("get_", "describe_", "list_"))] == []


def test_switching_v1_to_v2_keeps_one_link(moto_account: None, config_file: Path) -> None:
    write_config(config_file, **V1)
    assert run("up", config=config_file).exit_code == 0
    write_config(config_file, **V2)
    assert run("up", config=config_file).exit_code == 0
    assert dict(counts(REGION)) == expected(EXPECTED_V2)
    state = json.loads((config_file.parent / ".gatewayproxy/quizapi.state.json").read_text())
    assert state["steps"]["vpc_link"]["done"]
    assert "vpc_link_id" not in state["steps"]["vpc_link"]["resources"]
    planned = json.loads(run("plan", "--json", config=config_file).stdout)["resources"]
    assert [r for r in planned if r["step"] == "vpc_link"] == []  # converged: nothing to do
    assert run("down", "--yes", config=config_file).exit_code == 0
    assert not any(inventory(REGION).values())


def test_a_failed_link_is_replaced_on_up(v2_stack: Path, calls: list[Call],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.apigatewayv2 import models

    [old] = inventory(REGION)["vpc_links_v2"]
    to_json = models.VpcLink.to_json
    monkeypatch.setattr(models.VpcLink, "to_json", lambda self: {**to_json(self), **(
        {"vpcLinkStatus": "FAILED", "vpcLinkStatusMessage": "no capacity"} if self.id == old
        else {})})
    calls.clear()
    result = run("up", config=v2_stack)
    assert result.exit_code == 0, result.output
    ops = [c.operation for c in calls]
    assert ops.index("delete_vpc_link") < ops.index("create_vpc_link")  # deleted, then made anew
    [new] = inventory(REGION)["vpc_links_v2"]
    assert new != old
    sent = [c.params for c in calls if c.operation == "put_integration"]
    assert sent and all(s["connectionId"] == new for s in sent)  # the API moved onto it


def test_a_new_stack_without_the_key_gets_a_v2_link(moto_account: None, config_file: Path,
                                                   calls: list[Call]) -> None:
    write_config(config_file)  # no api.vpc_link
    assert run("up", config=config_file).exit_code == 0
    assert dict(counts(REGION)) == expected(EXPECTED_V2)
    assert [c.service for c in calls if c.operation == "create_vpc_link"] == ["apigatewayv2"]


def test_a_v1_stack_keeps_its_link_when_the_key_is_absent(moto_account: None, config_file: Path,
                                                         calls: list[Call]) -> None:
    """A stack made while v1 was the default (its state records a v1 link) is not replaced
    on upgrade: without the key it stays v1; naming v2 still switches it."""
    write_config(config_file, **V1)
    assert run("up", config=config_file).exit_code == 0
    write_config(config_file)  # the key removed, as in every config written before v2
    plan = run("plan", config=config_file)
    assert plan.exit_code == 0 and "No changes." in plan.stdout, plan.stdout
    calls.clear()
    assert run("up", config=config_file).exit_code == 0
    assert [c for c in calls if not c.operation.startswith(("get_", "describe_", "list_"))] == []
    assert dict(counts(REGION)) == expected(EXPECTED_V1)
    report = json.loads(run("status", "--json", config=config_file).stdout)
    link = next(s for s in report["steps"] if s["name"] == "vpc_link")
    assert link["details"]["generation"] == "v1" and report["healthy"]
