"""VPC endpoints and their security group, on the fake AWS layer: finding, creating with a
client token, waits, deletes that answer per endpoint, and nothing asked when not wanted."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from fakes import context

from gatewayproxy.errors import AwsError, GatewayProxyError
from gatewayproxy.resources import nat_gateway
from gatewayproxy.resources.nat_gateway import NatGateway
from gatewayproxy.resources.vpc_endpoint import (
    EndpointSecurityGroup,
    GatewayEndpoint,
    VpcEndpoint,
    secret_services,
)

STACK_TAGS = [{"Key": "gatewayproxy:stack", "Value": "quizapi"}]


def ecr_api() -> VpcEndpoint:
    return VpcEndpoint("nat_gateway", "endpoint_ecr_api", service="ecr.api")


def none_mode(ctx: Any, **changes: Any) -> None:
    ctx.config = dataclasses.replace(ctx.config, nat="none", **changes)


def endpoint(eid: str, tag: str, state: str = "available", **extra: Any) -> dict[str, Any]:
    return {"VpcEndpointId": eid, "State": state, **extra,
            "Tags": [*STACK_TAGS, {"Key": "gatewayproxy:resource", "Value": tag}]}


def test_not_wanted_and_never_made_asks_aws_nothing(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path)
    assert ecr_api().find(ctx) is None
    assert EndpointSecurityGroup("nat_gateway", "endpoint_security_group").find(ctx) is None
    assert aws.sent == []


def test_one_describe_serves_every_endpoint_and_deleted_or_deleting_ones_do_not_count(
        tmp_path: Path) -> None:
    ctx, aws = context(tmp_path, {"describe_vpc_endpoints": {"VpcEndpoints": [
        endpoint("vpce-gone", "vpc-endpoint-ecr-api", "deleted"),
        endpoint("vpce-going", "vpc-endpoint-ecr-api", "deleting"),
        endpoint("vpce-1", "vpc-endpoint-ecr-api"), endpoint("vpce-2", "vpc-endpoint-s3")]}})
    none_mode(ctx)
    ctx.state.record("cluster", "vpc_id", "vpc-1")
    assert ecr_api().find(ctx)["VpcEndpointId"] == "vpce-1"  # type: ignore[index]
    assert GatewayEndpoint("nat_gateway", "endpoint_s3").find(ctx)["VpcEndpointId"] == "vpce-2"  # type: ignore[index]
    [(operation, params)] = aws.sent
    assert operation == "describe_vpc_endpoints"
    assert {"Name": "vpc-id", "Values": ["vpc-1"]} in params["Filters"]
    assert {"Name": "tag:gatewayproxy:stack", "Values": ["quizapi"]} in params["Filters"]


def test_a_pending_token_is_a_trace_so_a_crashed_create_is_found_and_deleted(
        tmp_path: Path) -> None:
    """Config back to a NAT gateway after a crash right after CreateVpcEndpoint."""
    ctx, _ = context(tmp_path, {"describe_vpc_endpoints": {"VpcEndpoints": [
        endpoint("vpce-1", "vpc-endpoint-ecr-api")]}})
    ctx.state.record("cluster", "vpc_id", "vpc-1")
    ctx.state.record("nat_gateway", nat_gateway.TOKENS, {"endpoint_ecr_api": "t"})
    assert not ecr_api().wanted(ctx)
    assert ecr_api().find(ctx) is not None


def test_create_sends_a_token_private_dns_and_tags_and_records_at_once(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path, {"create_vpc_endpoint": {"VpcEndpoint": {
        "VpcEndpointId": "vpce-9", "State": "pending"}}})
    none_mode(ctx)
    ctx.outputs.publish("cluster.vpc_id", "vpc-1")
    ctx.outputs.publish("private_subnet.subnets", ["subnet-a", "subnet-b"])
    ctx.outputs.publish("nat_gateway.endpoint_zones", {"ecr.api": [1]})  # zone 0 lacks it
    ctx.state.record("nat_gateway", "endpoint_security_group", "sg-1")
    ecr_api().create(ctx)
    [(_, sent)] = aws.sent
    assert sent["ServiceName"] == "com.amazonaws.eu-west-1.ecr.api"
    assert (sent["VpcEndpointType"], sent["PrivateDnsEnabled"]) == ("Interface", True)
    assert sent["SubnetIds"] == ["subnet-b"] and sent["SecurityGroupIds"] == ["sg-1"]
    assert 0 < len(sent["ClientToken"]) <= 64
    assert sent["TagSpecifications"][0]["ResourceType"] == "vpc-endpoint"
    assert ctx.state.get("nat_gateway", "endpoint_ecr_api") == "vpce-9"
    assert ctx.state.get("nat_gateway", nat_gateway.TOKENS) is None


def test_diff_names_subnets_and_update_modifies_in_place(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path)
    none_mode(ctx)
    ctx.outputs.publish("private_subnet.subnets", ["subnet-a", "subnet-b"])
    ctx.state.record("nat_gateway", "endpoint_security_group", "sg-1")
    found = {"VpcEndpointId": "vpce-1", "State": "available", "SubnetIds": ["subnet-a"],
             "Groups": [{"GroupId": "sg-1"}], "PrivateDnsEnabled": True}
    [change] = ecr_api().diff(ctx, found)
    assert (change.field, change.new) == ("subnets", ["subnet-a", "subnet-b"])
    ecr_api().update(ctx, found, [change])
    assert aws.sent == [("modify_vpc_endpoint", {"VpcEndpointId": "vpce-1",
                                                 "AddSubnetIds": ["subnet-b"]})]
    failed = {**found, "State": "failed"}
    assert [c.field for c in ecr_api().diff(ctx, failed)] == ["state"]
    assert "state" in VpcEndpoint.FORCE_NEW


def test_the_gateway_endpoint_follows_the_private_route_tables(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path)
    none_mode(ctx)
    ctx.outputs.publish("private_subnet.route_tables", ["rtb-a", "rtb-b"])
    s3 = GatewayEndpoint("nat_gateway", "endpoint_s3")
    found = {"VpcEndpointId": "vpce-s3", "State": "available", "RouteTableIds": ["rtb-a"]}
    [change] = s3.diff(ctx, found)
    s3.update(ctx, found, [change])
    assert aws.sent == [("modify_vpc_endpoint", {"VpcEndpointId": "vpce-s3",
                                                 "AddRouteTableIds": ["rtb-b"]})]


def test_waits_pending_is_not_done_failed_fails_with_aws_reason_and_gone_is_deleted() -> None:
    ready, gone = VpcEndpoint.ready, VpcEndpoint.gone
    assert ready is not None and gone is not None and ready.reason is not None
    assert ready.status({"State": "pending"}) not in ready.done
    assert ready.status({"State": "Available"}) in ready.done
    failed = {"State": "failed", "LastError": {"Code": "x", "Message": "no capacity"}}
    assert ready.status(failed) in ready.failed and "no capacity" in ready.reason(failed)
    assert gone.status(None) in gone.done and gone.status({"State": "deleted"}) in gone.done
    assert gone.status({"State": "deleting"}) not in gone.done


def test_delete_reads_the_unsuccessful_list(tmp_path: Path) -> None:
    missing = {"Unsuccessful": [{"ResourceId": "vpce-1", "Error": {
        "Code": "InvalidVpcEndpoint.NotFound", "Message": "gone"}}]}
    ctx, _ = context(tmp_path, {"delete_vpc_endpoints": missing})
    ecr_api().delete(ctx, {"VpcEndpointId": "vpce-1"})  # not found: done
    refused = {"Unsuccessful": [{"ResourceId": "vpce-1", "Error": {
        "Code": "UnauthorizedOperation", "Message": "no"}}]}
    ctx, _ = context(tmp_path, {"delete_vpc_endpoints": refused})
    with pytest.raises(GatewayProxyError, match="UnauthorizedOperation"):
        ecr_api().delete(ctx, {"VpcEndpointId": "vpce-1"})


def test_the_group_admits_443_from_the_private_subnets_only_and_sends_nothing_out(
        tmp_path: Path) -> None:
    ctx, aws = context(tmp_path, {"create_security_group": {"GroupId": "sg-e"}})
    none_mode(ctx)
    ctx.outputs.publish("cluster.vpc_id", "vpc-1")
    EndpointSecurityGroup("nat_gateway", "endpoint_security_group").create(ctx)
    sent = dict(aws.sent)
    [rule] = sent["authorize_security_group_ingress"]["IpPermissions"]
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 443, 443)
    assert sorted(r["CidrIp"] for r in rule["IpRanges"]) == ["10.0.128.0/18", "10.0.192.0/18"]
    assert "0.0.0.0/0" not in str(sent["authorize_security_group_ingress"])
    assert sent["revoke_security_group_egress"]["IpPermissions"] == [
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    assert ctx.state.get("nat_gateway", "endpoint_security_group") == "sg-e"
    group = EndpointSecurityGroup("nat_gateway", "endpoint_security_group")
    extra = {"GroupId": "sg-e", "IpPermissions": [rule, {**rule, "FromPort": 22, "ToPort": 22}],
             "IpPermissionsEgress": []}
    assert [c.field for c in group.diff(ctx, extra)] == ["ingress"]


def test_secrets_are_split_by_their_arns_service(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path)
    ctx.config = dataclasses.replace(ctx.config, secrets={
        "A": "arn:aws:ssm:eu-west-1:123456789012:parameter/a",
        "B": "arn:aws:ssm:eu-west-1:123456789012:parameter/b"})
    assert secret_services(ctx) == ["ssm"]
    ctx.config = dataclasses.replace(ctx.config, secrets={
        "A": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:a-AbCdEf"})
    assert secret_services(ctx) == ["secretsmanager"]


def test_another_zones_nat_gateway_takes_its_own_subnet_address_tag_and_token(
        tmp_path: Path) -> None:
    ctx, aws = context(tmp_path, {"create_nat_gateway": {"NatGateway": {"NatGatewayId": "nat-2"}}})
    ctx.config = dataclasses.replace(ctx.config, nat="per_zone")
    ctx.state.record("cluster", "public_subnet_1", "subnet-p1")
    ctx.state.record("nat_gateway", "elastic_ip_1", "eipalloc-1")
    nat = NatGateway("nat_gateway", "nat_gateway_1", zone=1)
    assert nat.wanted(ctx) and nat.name(ctx) == "quizapi-nat-1"
    nat.create(ctx)
    [(_, sent)] = aws.sent
    assert (sent["SubnetId"], sent["AllocationId"]) == ("subnet-p1", "eipalloc-1")
    assert sent["TagSpecifications"][0]["Tags"][2] == {"Key": "gatewayproxy:resource",
                                                       "Value": "nat-gateway-1"}
    assert ctx.state.get("nat_gateway", "nat_gateway_1") == "nat-2"
    assert ctx.state.get("nat_gateway", nat_gateway.TOKEN) is None  # zone 0's untouched
    assert ctx.state.get("nat_gateway", nat_gateway.TOKENS) is None  # settled


def test_a_throttled_delete_is_an_error(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path, {"delete_vpc_endpoints": AwsError("DeleteVpcEndpoints",
                                                                  "UnauthorizedOperation", "no")})
    with pytest.raises(AwsError):
        ecr_api().delete(ctx, {"VpcEndpointId": "vpce-1"})
