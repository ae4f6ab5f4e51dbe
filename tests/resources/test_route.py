"""The default route: found in its table, diffed by its target, a blackhole is a change."""

from __future__ import annotations

from pathlib import Path

from fakes import context

from gatewayproxy.resources import ec2
from gatewayproxy.resources.route import DefaultRoute


def route(family: ec2.Family | None = None) -> DefaultRoute:
    return DefaultRoute("nat_gateway", "private_route_0", table_step="private_subnet",
                        table_key="private_route_table_0", table_tag="private-route-table-0",
                        target_step="nat_gateway", target_key="nat_gateway",
                        target_field="NatGatewayId", family=family or ec2.Family(ec2.ROUTE_TABLE))


def table(*routes: dict[str, str]) -> dict[str, object]:
    return {"RouteTables": [{"RouteTableId": "rtb-1", "Routes": list(routes), "Tags": []}]}


def test_no_table_means_no_route_and_no_call(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path)
    assert route().find(ctx) is None
    assert aws.sent == []


def test_a_route_to_the_nat_gateway_is_no_change_a_blackhole_is(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path)
    ctx.state.record("private_subnet", "private_route_table_0", "rtb-1")
    ctx.state.record("nat_gateway", "nat_gateway", "nat-1")
    good = {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1", "State": "active"}
    aws.answers["describe_route_tables"] = table(good)
    found = route().find(ctx)
    assert found is not None and route().diff(ctx, found) == []
    dead = {**good, "NatGatewayId": "nat-0", "State": "blackhole"}
    aws.answers["describe_route_tables"] = table(dead)
    ctx.reads.clear()  # a new command reads the family again
    found = route().find(ctx)
    assert found is not None
    [change] = route().diff(ctx, found)
    assert (change.field, change.new) == ("target", "nat-1")
    route().update(ctx, found, [change])
    assert aws.sent[-1] == ("replace_route", {
        "RouteTableId": "rtb-1", "DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1",
        "retry": ec2.JUST_CREATED})


def test_a_family_asks_once_for_every_route_table(tmp_path: Path) -> None:
    """Two routes of one family: one DescribeRouteTables for both."""
    ctx, aws = context(tmp_path, {"describe_route_tables": table()})
    ctx.state.record("private_subnet", "private_route_table_0", "rtb-1")
    family = ec2.Family(ec2.ROUTE_TABLE)
    route(family).find(ctx)
    route(family).find(ctx)
    assert aws.operations == ["describe_route_tables"]
