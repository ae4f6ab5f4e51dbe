"""What `up` and `down` wait for, from the graph the steps declare: the v2 link starts from the
private subnets beside the NLB; a resource's deletion waits only on what reads it."""

from __future__ import annotations

import threading
import tomllib
from pathlib import Path
from typing import Any

import pytest
from access_fixtures import run
from conftest import CONFIG, Call

from gatewayproxy import config, graph
from gatewayproxy.aws import Aws
from gatewayproxy.context import Context
from gatewayproxy.state import State

SUBNETS = {"private_subnet.private_subnet_0", "private_subnet.private_subnet_1"}


def stack_graph(tmp_path: Path, text: str = CONFIG) -> graph.Graph:
    cfg = config.parse(tomllib.loads(text))
    ctx = Context(cfg, State.load(tmp_path / "s.state.json", cfg.name), aws=None)  # type: ignore[arg-type]
    return graph.build(ctx)


def test_the_v2_link_and_its_group_wait_only_for_the_subnets_and_the_vpc(tmp_path: Path) -> None:
    g = stack_graph(tmp_path)
    assert g.up_waits("vpc_link.vpc_link_v2_id") == {
        *(f"{s}{graph.EXISTS}" for s in SUBNETS), f"vpc_link.security_group{graph.EXISTS}"}
    assert g.up_waits("vpc_link.security_group") == {f"cluster.vpc_id{graph.EXISTS}"}
    # What needs the NLB's listener is the integration (its uri names the listener's port).
    method = "rest_api.method GET /answers"
    assert "service.listener_arn" in g.up_waits(method)
    assert "vpc_link.vpc_link_v2_id" in g.up_waits(method)


def test_the_service_starts_once_the_nlb_exists_and_the_nat_gateway_routes(
        tmp_path: Path) -> None:
    g = stack_graph(tmp_path)
    waits = g.up_waits("service.service")
    assert f"load_balancer.load_balancer_arn{graph.EXISTS}" in waits  # not its `active`
    # The way out: each private subnet's default route, which waits for the NAT gateway.
    assert {"nat_gateway.private_route_0", "nat_gateway.private_route_1"} <= waits
    assert "nat_gateway.nat_gateway" in g.up_waits("nat_gateway.private_route_0")


@pytest.mark.parametrize(("node", "waits"), [
    # Tasks only route out through the NAT gateway: its deletion does not wait for them.
    ("nat_gateway.nat_gateway", {"nat_gateway.private_route_0", "nat_gateway.private_route_1"}),
    ("nat_gateway.private_route_0", set()),
    ("nat_gateway.elastic_ip", {"nat_gateway.nat_gateway"}),  # released once the NAT is gone
])
def test_down_deletes_the_way_out_without_waiting_for_the_tasks(tmp_path: Path, node: str,
                                                                 waits: set[str]) -> None:
    assert stack_graph(tmp_path).down_waits(node) == waits


def test_down_still_waits_for_what_reads_a_resource(tmp_path: Path) -> None:
    g = stack_graph(tmp_path)
    # The service's network interfaces sit in the subnets and its security group; its target
    # group's listener is on the NLB; a stage's deployment uses the link.
    assert "service.service" in g.down_waits("private_subnet.private_subnet_0")
    assert "service.service" in g.down_waits("service.security_group")
    assert "service.service" in g.down_waits("service.listener_arn")
    assert "service.listener_arn" in g.down_waits("load_balancer.load_balancer_arn")
    assert "rest_api.deployment_id" in g.down_waits("vpc_link.vpc_link_v2_id")
    assert "vpc_link.vpc_link_v2_id" in g.down_waits("private_subnet.private_subnet_1")


def test_the_v2_link_is_created_while_the_nlb_still_provisions(
        moto_account: None, config_file: Path, calls: list[Call],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The NLB stays `provisioning` until the v2 link has been asked for: `up` finishes only
    if it creates the link without waiting for the NLB. A look at the NLB waits (for real, up
    to 10 s) until the link is asked for, so the NLB's wait, on the fake clock, cannot time out
    while the link's thread is still on its way; had the link waited for an active NLB, that
    look would give up and the NLB never turn active."""
    original = Aws.call
    seen: list[str] = []
    link_asked = threading.Event()

    def provisioning(self: Aws, service: str, operation: str, /, **kwargs: Any) -> Any:
        if operation == "describe_load_balancers":
            link_asked.wait(timeout=10)
        answer = original(self, service, operation, **kwargs)
        if (service, operation) == ("apigatewayv2", "create_vpc_link"):
            seen.append("link created")
            link_asked.set()
        if operation in ("create_load_balancer", "describe_load_balancers"):
            code = "active" if link_asked.is_set() else "provisioning"
            for nlb in answer.get("LoadBalancers", []):
                nlb["State"] = {"Code": code}
            seen.append(f"nlb {code}")
        return answer

    monkeypatch.setattr(Aws, "call", provisioning)
    result = run("up", config=config_file)
    assert result.exit_code == 0, result.output
    # The link is asked for before the NLB is active (and may be before the NLB is even
    # created: both need only the private subnets). Were it to wait for an active NLB, the NLB
    # would never become active here and `up` would fail on the wait's timeout.
    assert seen.index("link created") < seen.index("nlb active")
    integrations = [c.params for c in calls if c.operation == "put_integration"]
    assert integrations and all(p["integrationTarget"] for p in integrations)
