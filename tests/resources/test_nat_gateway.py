"""The NAT gateway: a failed one is replaced (with a new client token), a deleted one is gone."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import context

from gatewayproxy.errors import GatewayProxyError
from gatewayproxy.resources import nat_gateway
from gatewayproxy.resources.nat_gateway import NatGateway


def nats(state: str) -> dict[str, object]:
    return {"NatGateways": [{"NatGatewayId": "nat-1", "State": state,
                             "FailureMessage": "no capacity"}]}


def answers(recorded_state: str) -> dict[str, object]:
    def describe(params: dict[str, object]) -> dict[str, object]:
        return nats(recorded_state) if "NatGatewayIds" in params else {"NatGateways": []}
    return {"describe_nat_gateways": describe}


@pytest.mark.parametrize(("state", "found"), [("failed", True), ("deleted", False)])
def test_a_recorded_nat_gateway_counts_only_while_it_failed(tmp_path: Path, state: str,
                                                            found: bool) -> None:
    ctx, _ = context(tmp_path, answers(state))
    ctx.state.record("cluster", "vpc_id", "vpc-1")
    ctx.state.record("nat_gateway", "nat_gateway", "nat-1")
    nat = NatGateway("nat_gateway", "nat_gateway")
    current = nat.find(ctx)
    assert (current is not None) is found
    if current is not None:
        [change] = nat.diff(ctx, current)
        assert change.field in NatGateway.FORCE_NEW  # up deletes it, then creates a new one


def test_create_draws_a_token_and_forgets_it_once_the_id_is_recorded(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path, {"create_nat_gateway": {"NatGateway": {"NatGatewayId": "nat-2"}}})
    NatGateway("nat_gateway", "nat_gateway").create(ctx)
    [(_, sent)] = [c for c in aws.sent if c[0] == "create_nat_gateway"]
    assert len(str(sent["ClientToken"])) <= 64  # EC2: ClientToken up to 64 ASCII characters
    assert ctx.state.get("nat_gateway", "nat_gateway") == "nat-2"
    assert ctx.state.get("nat_gateway", nat_gateway.TOKEN) is None


def test_the_wait_fails_on_failed_and_says_up_replaces_it() -> None:
    wait = NatGateway.ready
    assert wait is not None and "failed" in wait.failed and wait.reason is not None
    reason = wait.reason(nats("failed")["NatGateways"][0])  # type: ignore[index]
    assert "no capacity" in reason and "gatewayproxy up" in reason
    with pytest.raises(GatewayProxyError):
        raise GatewayProxyError(reason)
