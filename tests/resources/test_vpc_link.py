"""The VPC link kinds (both generations) and the v2 link's security group, with a fake AWS:
finding, diffing, the declarative waits, what each generation needs, and the plan rows."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIG

from gatewayproxy import config, graph
from gatewayproxy.aws import Aws
from gatewayproxy.context import STACK_TAG, Context
from gatewayproxy.errors import AwsError
from gatewayproxy.resources import vpc_link as links
from gatewayproxy.state import State
from gatewayproxy.steps import vpc_link as step

OURS = {STACK_TAG: "quizapi"}


class FakeAws:
    """GetVpcLink by id, GetVpcLinks in pages of `page` items; every call recorded."""

    def __init__(self, links_: list[dict[str, Any]], page: int = 1) -> None:
        self.links = links_
        self.page = page
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def call(self, service: str, operation: str, /, retry: Any = (), **params: Any) -> Any:
        self.sent.append((operation, params))
        if operation == "get_vpc_link":
            link_id = params.get("vpcLinkId") or params.get("VpcLinkId")
            for link in self.links:
                if link.get("id", link.get("VpcLinkId")) == link_id:
                    return link
            raise AwsError(operation, "NotFoundException", "Invalid Vpc Link identifier")
        start = int(params.get("position") or params.get("NextToken") or 0)
        items = self.links[start:start + self.page]
        more = start + self.page < len(self.links)
        if service == "apigateway":
            return {"items": items, **({"position": str(start + self.page)} if more else {})}
        return {"Items": items, **({"NextToken": str(start + self.page)} if more else {})}

    def find(self, service: str, operation: str, /, **params: Any) -> Any:
        try:
            return self.call(service, operation, **params)
        except AwsError:
            return None

    def pages(self, service: str, operation: str, /, *, items: str, token: str,
              **params: Any) -> Any:
        while True:
            page = self.call(service, operation, **params)
            yield from page.get(items) or []
            if not page.get(token):
                return
            params[token] = page[token]


def context(tmp_path: Path, aws: Any = None, generation: str = "v1") -> Context:
    text = CONFIG.replace('stage = "live"\n', f'stage = "live"\nvpc_link = "{generation}"\n')
    cfg = config.parse(tomllib.loads(text))
    return Context(config=cfg, state=State.load(tmp_path / "s.state.json", cfg.name),
                   aws=aws or FakeAws([]))


def test_find_takes_the_recorded_link_without_listing(tmp_path: Path) -> None:
    aws = FakeAws([{"id": "l1", "status": "AVAILABLE", "tags": OURS}])
    ctx = context(tmp_path, aws)
    ctx.state.record("vpc_link", "vpc_link_id", "l1")
    assert links.find(ctx)["id"] == "l1"
    assert [op for op, _ in aws.sent] == ["get_vpc_link"]


def test_find_falls_back_to_the_tag_on_every_page_skipping_foreign_and_deleting(
        tmp_path: Path) -> None:
    aws = FakeAws([{"VpcLinkId": "foreign", "VpcLinkStatus": "AVAILABLE", "Tags": {}},
                   {"VpcLinkId": "going", "VpcLinkStatus": "DELETING", "Tags": OURS},
                   {"VpcLinkId": "ours", "VpcLinkStatus": "INACTIVE", "Tags": OURS}])
    ctx = context(tmp_path, aws)
    ctx.state.record("vpc_link", "vpc_link_v2_id", "gone-long-ago")
    assert links.find(ctx, links.V2)["VpcLinkId"] == "ours"
    assert [op for op, _ in aws.sent] == ["get_vpc_link"] + ["get_vpc_links"] * 3
    assert aws.sent[-1][1] == {"NextToken": "2"}


def test_v1_lists_500_links_a_page(tmp_path: Path) -> None:
    aws = FakeAws([])
    assert links.find(context(tmp_path, aws)) is None
    assert aws.sent == [("get_vpc_links", {"limit": 500})]


def test_a_failed_link_is_replaced_and_a_live_one_is_left_alone(tmp_path: Path) -> None:
    link = links.VpcLink("vpc_link", "vpc_link_id")
    ctx = context(tmp_path)
    [change] = link.diff(ctx, {"id": "l1", "status": "FAILED"})
    assert change.field in link.FORCE_NEW and (change.old, change.new) == ("FAILED", "AVAILABLE")
    assert link.diff(ctx, {"id": "l1", "status": "AVAILABLE"}) == []
    v2 = links.VpcLinkV2("vpc_link", "vpc_link_v2_id")
    assert v2.diff(ctx, {"VpcLinkId": "l2", "VpcLinkStatus": "INACTIVE"}) == []
    assert [c.field for c in v2.diff(ctx, {"VpcLinkId": "l2", "VpcLinkStatus": "FAILED"})] == \
        ["status"]


@pytest.mark.parametrize(("kind", "status", "done"), [
    (links.VpcLink, "AVAILABLE", True), (links.VpcLink, "PENDING", False),
    (links.VpcLinkV2, "AVAILABLE", True), (links.VpcLinkV2, "INACTIVE", True),  # no wait
    (links.VpcLinkV2, "PENDING", False)])
def test_ready_ends_on_available_and_for_v2_on_inactive(kind: Any, status: str,
                                                        done: bool) -> None:
    wait = kind.ready
    gen = kind.gen
    assert (wait.status({gen.status_key: status}) in wait.done) is done
    assert "FAILED" in wait.failed and wait.timeout == links.TIMEOUT
    assert wait.reason({gen.message_key: "no capacity"}).startswith("no capacity; run `gatew")


def test_deletion_ends_only_on_not_found_and_stops_on_failed(tmp_path: Path) -> None:
    gone = links.VpcLinkV2.gone
    assert gone.status(None) in gone.done
    for still in ("INACTIVE", "DELETING", "AVAILABLE"):
        assert gone.status({"VpcLinkStatus": still}) not in gone.done | gone.failed
    assert gone.status({"VpcLinkStatus": "FAILED"}) in gone.failed
    assert gone.reason({"VpcLinkStatusMessage": "ENI in use"}).startswith("ENI in use")
    aws = FakeAws([])
    assert gone.read(context(tmp_path, aws), {"VpcLinkId": "l2"}) is None  # NotFound: gone


@pytest.mark.parametrize("generation", ["v1", "v2"])
def test_exactly_one_generation_is_wanted_and_the_group_only_with_v2(
        tmp_path: Path, generation: str) -> None:
    ctx = context(tmp_path, generation=generation)
    wanted = {r.kind: r.wanted(ctx) for r in step.resources(ctx)}
    assert wanted == {"VPC link": generation == "v1", "VPC link (v2)": generation == "v2",
                      "security group": generation == "v2"}


def test_v2_starts_once_subnets_and_its_group_exist_v1_once_the_nlb_is_ready(
        tmp_path: Path) -> None:
    built = graph.build(context(tmp_path, generation="v2"))
    v1, v2, group = "vpc_link.vpc_link_id", "vpc_link.vpc_link_v2_id", "vpc_link.security_group"
    subnets = {f"private_subnet.private_subnet_{i}:exists" for i in range(2)}
    assert built.up_waits(v2) == subnets | {f"{group}:exists"}  # not the route tables, no NLB
    assert built.up_waits(v1) == {"load_balancer.load_balancer_arn"}
    assert built.up_waits(group) == {"cluster.vpc_id:exists"}
    rest_api = {graph.node_id(r) for r in built.steps_of()["rest_api"]}
    for nid in (v1, v2, group):
        assert graph.retire_after(built, built.by_id()[nid]) == rest_api


def test_rest_api_does_not_wait_for_the_generation_it_retires(tmp_path: Path) -> None:
    """Else `up` deadlocks: the unwanted link waits for rest_api, which reads the step."""
    from gatewayproxy.engine import Engine, _Run
    from gatewayproxy.graph import node_id
    from gatewayproxy.progress import Reporter

    ctx = context(tmp_path, generation="v1")
    engine = Engine(ctx, Reporter(io.StringIO(), ()))
    built = graph.build(ctx)
    run_ = _Run(engine, built, "up")
    by_id = built.by_id()
    reader = "rest_api.rest_api_id"  # the REST API's integrations read the link
    waits = {w.split(":")[0] for w in run_.up_waits(by_id[reader])}
    assert "vpc_link.vpc_link_v2_id" not in waits and "vpc_link.vpc_link_id" in waits
    assert f"{reader}:done" in run_.up_waits(by_id["vpc_link.vpc_link_v2_id"])
    sequence = [node_id(r) for r in run_._order(run_.up_waits)]  # sequential up
    last_of_api = max(sequence.index(node_id(r)) for r in built.steps_of()["rest_api"])
    assert last_of_api < sequence.index("vpc_link.vpc_link_v2_id")
    assert sequence.index("vpc_link.vpc_link_v2_id") < sequence.index("vpc_link.security_group")
    assert sequence.index("vpc_link.vpc_link_id") < sequence.index(reader)


def test_a_v2_link_is_made_with_the_recorded_group_and_recorded_at_once(tmp_path: Path) -> None:
    class Creating(FakeAws):
        def call(self, service: str, operation: str, /, retry: Any = (), **params: Any) -> Any:
            self.sent.append((operation, params))
            return {"VpcLinkId": "new", "VpcLinkStatus": "PENDING"}

    aws = Creating([])
    ctx = context(tmp_path, aws, generation="v2")
    ctx.state.record("vpc_link", "security_group", "sg-1")
    ctx.outputs.publish("private_subnet.subnets", ["subnet-a", "subnet-b"])
    links.VpcLinkV2("vpc_link", "vpc_link_v2_id").create(ctx)
    [(operation, sent)] = aws.sent
    assert (sent["SubnetIds"], sent["SecurityGroupIds"]) == (["subnet-a", "subnet-b"], ["sg-1"])
    assert sent["Tags"][STACK_TAG] == "quizapi"
    assert ctx.state.get("vpc_link", "vpc_link_v2_id") == "new"


def planned_rows(aws: Aws, tmp_path: Path, generation: str) -> list[tuple[str, str, str]]:
    """What plan says of this step's resources on an empty account (the planner, read only:
    steps not yet described as resources cannot all plan on a new stack yet)."""
    from gatewayproxy.engine import Engine, _Planner
    from gatewayproxy.progress import Reporter

    ctx = context(tmp_path, aws, generation)
    engine = Engine(ctx, Reporter(io.StringIO(), ()))
    aws.read_only, ctx.outputs.planning = True, True
    planner = _Planner(engine, graph.build(ctx), None)
    return [(row.action, row.kind, row.name) for r in step.resources(ctx)
            for row in planner._one(r)]


def test_plan_of_a_new_stack_lists_the_wanted_link(aws: Aws, tmp_path: Path) -> None:
    assert planned_rows(aws, tmp_path, "v1") == [
        ("create", "VPC link", "gatewayproxy-quizapi-link")]
    assert planned_rows(aws, tmp_path, "v2") == [
        ("create", "security group", "gatewayproxy-quizapi-link"),
        ("create", "VPC link (v2)", "gatewayproxy-quizapi-link")]


def context_without_key(tmp_path: Path) -> Context:
    cfg = config.parse(tomllib.loads(CONFIG))
    return Context(config=cfg, state=State.load(tmp_path / "s.state.json", cfg.name),
                   aws=FakeAws([]))


def test_a_new_stack_without_the_key_wants_v2(tmp_path: Path) -> None:
    ctx = context_without_key(tmp_path)
    assert ctx.config.vpc_link is None  # absent, not defaulted: the state decides
    assert links.generation(ctx) == "v2"
    assert [r.key for r in step.resources(ctx) if r.wanted(ctx)] == ["security_group",
                                                                     "vpc_link_v2_id"]


@pytest.mark.parametrize(("recorded", "wanted"), [
    ({"vpc_link_id": "l1"}, "v1"),
    ({"vpc_link_v2_id": "l2", "security_group": "sg-1"}, "v2"),
    ({"vpc_link_id": "l1", "vpc_link_v2_id": "l2"}, "v2"),  # a switch cut short: the newer one
])
def test_without_the_key_the_state_s_generation_stays(tmp_path: Path, recorded: dict[str, str],
                                                      wanted: str) -> None:
    ctx = context_without_key(tmp_path)
    for key, value in recorded.items():
        ctx.state.record("vpc_link", key, value)
    assert links.generation(ctx) == wanted


@pytest.mark.parametrize("named", ["v1", "v2"])
def test_a_named_generation_wins_over_the_state(tmp_path: Path, named: str) -> None:
    ctx = context(tmp_path, generation=named)
    ctx.state.record("vpc_link", "vpc_link_id" if named == "v2" else "vpc_link_v2_id", "old")
    assert links.generation(ctx) == named


@pytest.mark.parametrize(("listed", "wanted"), [
    ([{"id": "l1", "status": "AVAILABLE", "tags": OURS}], "v1"),
    ([], "v2"),
])
def test_import_without_the_key_takes_the_generation_aws_holds(
        tmp_path: Path, listed: list[dict[str, Any]], wanted: str) -> None:
    ctx = context_without_key(tmp_path)
    ctx.aws = FakeAws(listed)
    ctx.command = "import"
    assert links.generation(ctx) == wanted
    asked = len(ctx.aws.sent)
    assert links.generation(ctx) == wanted
    assert len(ctx.aws.sent) == asked  # AWS is asked once per command
