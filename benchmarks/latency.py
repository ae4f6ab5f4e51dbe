"""AWS-like waits for in-process moto, scaled down, and the critical path they imply.

moto answers every describe with the final state at once. `Latency` sits between `Aws` and moto's
clients and rewrites the answers of the slow resources from per-resource ready times (keyed by
resource id, on `time.monotonic()`): a NAT gateway stays `pending`, an NLB `provisioning`, a
service's tasks pending, its targets `initial`, a VPC link `PENDING`, until their time has come;
deleted ones stay `deleting`/`DRAINING`/`DELETING` for a while. Everything else stays instant.

`LATENCIES` and `AFTER` are the one source of truth: the emulator waits exactly these times in
exactly this dependency order, and `critical_path` and `sequential` compute from the same two
(`THEN` adds the calls AWS requires after a deletion's wait, timed in the run).
"""

from __future__ import annotations

import copy
import functools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from gatewayproxy.aws import Aws

# Seconds on real AWS, before scaling: typical times (medians as users and AWS report them),
# not worst cases. Sources in docs/performance.md ("The waits and their sources").
# - NAT gateway: `pending` until `available` typically 1-2 min; `deleting` about a minute
#   (EC2 API reference, NatGateway.State; observed).
# - NLB: `provisioning` until `active` typically 2-3 min; deletion some 20 s (observed).
# - ECS Fargate service: ENIs, image pull through the NAT gateway and container start: about
#   2 min to reach the desired running count; tasks cannot pull before the NAT routes.
#   Delete: DRAINING until INACTIVE, about the target group's deregistration delay (the service
#   step sets 30 s).
# - NLB targets: "It can take a few minutes for the registration process to complete and health
#   checks to start" (ELB docs, Health checks for Network Load Balancer target groups); with
#   2 checks 10 s apart, 45 s after the tasks run is on the quick side.
# - Deregistration: an old task's target drains for the group's deregistration delay (30 s,
#   set by the service step) before ECS stops it and the rolling update completes.
# - REST VPC link (v1): "an asynchronous operation that typically takes 2-4 minutes to complete
#   and become operational" (API Gateway reference, CreateVpcLink), counted from when its NLB is
#   active; deletion about a minute (observed).
# - VPC link v2: PENDING while API Gateway creates its network interfaces in the subnets, about
#   2 minutes, from its creation (it names no NLB); deletion about a minute, until its
#   interfaces leave the subnets ("Set up VPC links V2 in API Gateway"; observed).
LATENCIES: dict[str, float] = {
    "nat_gateway.available": 90.0,
    "nat_gateway.deleted": 60.0,
    "load_balancer.active": 150.0,
    "load_balancer.deleted": 20.0,
    "service.running": 120.0,
    "service.inactive": 30.0,
    "targets.healthy": 45.0,
    "targets.drained": 30.0,
    "vpc_link.available": 240.0,
    "vpc_link.deleted": 60.0,
    "vpc_link_v2.available": 120.0,
    "vpc_link_v2.deleted": 60.0,
}

# Per command, each wait and the waits that must be over before it can start: the real
# dependencies between the resources, which the emulator enforces. `up`: tasks pull their image
# through the NAT gateway; targets are checked once the tasks run; a v1 VPC link builds on an
# active NLB, a v2 link (the default) on the subnets alone. `down`: AWS refuses to delete an
# NLB that a v1 VPC link still uses (the emulator answers ResourceInUse); the NLB goes after the
# service stopped using its listener (gatewayproxy's order: the listener is read by the
# service); the NAT gateway waits for nothing (draining tasks only lose their way out).
# `image`: an image change's rolling update: new tasks run, their targets turn healthy, the old
# targets drain for the deregistration delay, then the deployment is complete.
AFTER: dict[str, dict[str, tuple[str, ...]]] = {
    "up": {
        "load_balancer.active": (),
        "nat_gateway.available": (),
        "service.running": ("nat_gateway.available",),
        "targets.healthy": ("service.running",),
        "vpc_link_v2.available": (),
    },
    "up (v1)": {
        "load_balancer.active": (),
        "nat_gateway.available": (),
        "service.running": ("nat_gateway.available",),
        "targets.healthy": ("service.running",),
        "vpc_link.available": ("load_balancer.active",),
    },
    "down": {
        "vpc_link_v2.deleted": (),
        "service.inactive": (),
        "nat_gateway.deleted": (),
        "load_balancer.deleted": ("service.inactive",),
    },
    "down (v1)": {
        "vpc_link.deleted": (),
        "service.inactive": (),
        "nat_gateway.deleted": (),
        "load_balancer.deleted": ("vpc_link.deleted", "service.inactive"),
    },
    "image": {
        "service.running": (),
        "targets.healthy": ("service.running",),
        "targets.drained": ("targets.healthy",),
    },
}


# The calls AWS requires after a deletion's wait before `down` can end, stage by stage: the calls
# of a stage may run side by side, each stage needs the one before. What the deleted resource
# held goes only once it is gone: a v2 link's network interfaces leave the private subnets and
# its security group; the NLB's leave the private subnets; the NAT gateway's leaves the public
# subnet and frees its Elastic IP, and the internet gateway detaches only once no public address
# is mapped in the VPC ("DependencyViolation ... mapped public address(es)": hashicorp/terraform
# #1303, carina-rs/carina #1088); the VPC goes once its subnets, groups and gateway have
# (aws-facts "Teardown order" 6-9). A chain of `down` ends with them: the critical path adds
# their measured time, as it adds the calls before a chain's first wait (`critical_path`).
THEN: dict[str, tuple[tuple[str, ...], ...]] = {
    "vpc_link_v2.deleted": (("ec2.delete_security_group", "ec2.delete_subnet"),
                            ("ec2.delete_vpc",)),
    "load_balancer.deleted": (("ec2.delete_subnet",), ("ec2.delete_vpc",)),
    "nat_gateway.deleted": (("ec2.release_address", "ec2.delete_subnet"),
                            ("ec2.detach_internet_gateway",), ("ec2.delete_vpc",)),
}
TIMED = frozenset(op for stages in THEN.values() for stage in stages for op in stage)


def critical_path(command: str, scale: float, heads: dict[str, float] | None = None,
                  tails: dict[str, float] | None = None) -> tuple[float, list[str]]:
    """The longest chain of dependent waits of `command` (seconds at `scale`) and the chain.

    `heads`: per wait with no dependency, when its resource could start (the calls before it,
    measured); `tails`: per wait, the calls AWS requires after it (`THEN`, measured). Each wait
    ends its own time after the last of its dependencies (or after its head); the path is the
    latest end, its tail included. Without them: the waits alone."""
    graph = AFTER[command]
    heads, tails = heads or {}, tails or {}

    @functools.cache
    def finish(wait: str) -> tuple[float, tuple[str, ...]]:
        start, chain = max((finish(dep) for dep in graph[wait]),
                           default=(heads.get(wait, 0.0), ()))
        return start + LATENCIES[wait] * scale, (*chain, wait)

    seconds, chain = max((finish(wait)[0] + tails.get(wait, 0.0), finish(wait)[1])
                         for wait in graph)
    return seconds, list(chain)


def v1_chain(scale: float) -> float:
    """The best `up` a v1 link allows: the NLB active, then the link available."""
    return (LATENCIES["load_balancer.active"] + LATENCIES["vpc_link.available"]) * scale


def sequential(command: str, scale: float) -> float:
    """The waits of `command` one after another (the post's order): their sum, at `scale`."""
    return sum(LATENCIES[wait] for wait in AFTER[command]) * scale


@dataclass
class Observation:
    """One wait of one resource: when it could start, when it was over, when a caller saw it."""

    wait: str
    resource: str
    region: str
    start: float
    ready: float
    seen: float


@dataclass
class Call:
    """One call of a tail (`THEN`): which, where, when it started and ended."""

    operation: str
    region: str
    start: float
    end: float


@dataclass
class _Resource:
    rid: str
    region: str
    created: float
    record: dict[str, Any] = field(default_factory=dict)  # the last answer, for deleted ones
    deleted: float | None = None
    vpc: str | None = None  # NAT gateway: its VPC; service: its subnets' VPC
    targets: tuple[str, ...] = ()  # VPC link: its NLBs; service: its target groups
    updated: float | None = None  # service: when its latest rolling update started


def _not_found(operation: str, code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


class Latency:
    """Rewrites moto's answers to AWS-like timing; `installed()` puts it under every `Aws`."""

    def __init__(self, scale: float, now: Callable[[], float] = time.monotonic) -> None:
        self.scale = scale
        self.now = now
        self._lock = threading.Lock()
        self._nats: dict[str, _Resource] = {}
        self._nlbs: dict[str, _Resource] = {}
        self._services: dict[str, _Resource] = {}
        self._links: dict[str, _Resource] = {}
        self._links_v2: dict[str, _Resource] = {}
        self.call_delay = 0.0  # seconds every AWS call takes on top (AWS-like latency)
        self._seen: dict[tuple[str, str], Observation] = {}
        self._timed: list[Call] = []  # the calls of TIMED, for the critical path's tails
        self._original_client: Callable[[Aws, str], Any] = Aws.client
        self._hooks: dict[tuple[str, str], Callable[..., Any]] = {
            ("ec2", "create_nat_gateway"): self._create_nat_gateway,
            ("ec2", "describe_nat_gateways"): self._describe_nat_gateways,
            ("ec2", "delete_nat_gateway"): self._delete_nat_gateway,
            ("elbv2", "create_load_balancer"): self._create_load_balancer,
            ("elbv2", "describe_load_balancers"): self._describe_load_balancers,
            ("elbv2", "delete_load_balancer"): self._delete_load_balancer,
            ("elbv2", "describe_target_health"): self._describe_target_health,
            ("ecs", "create_service"): self._create_service,
            ("ecs", "update_service"): self._create_service,
            ("ecs", "describe_services"): self._describe_services,
            ("ecs", "delete_service"): self._delete_service,
            ("apigateway", "create_vpc_link"): self._create_vpc_link,
            ("apigateway", "get_vpc_link"): self._get_vpc_link,
            ("apigateway", "get_vpc_links"): self._get_vpc_links,
            ("apigateway", "delete_vpc_link"): self._delete_vpc_link,
            ("apigatewayv2", "create_vpc_link"): self._create_vpc_link_v2,
            ("apigatewayv2", "get_vpc_link"): self._get_vpc_link_v2,
            ("apigatewayv2", "get_vpc_links"): self._get_vpc_links_v2,
            ("apigatewayv2", "delete_vpc_link"): self._delete_vpc_link_v2,
        }

    def seconds(self, wait: str) -> float:
        return LATENCIES[wait] * self.scale

    @contextmanager
    def installed(self) -> Iterator[Latency]:
        """Every `Aws.client` answers through this layer until the block ends."""
        original = self._original_client = Aws.client
        layer = self

        def client(aws: Aws, service: str) -> Any:
            return _Client(layer, aws, service, original(aws, service))

        Aws.client = client  # type: ignore[method-assign, assignment]
        try:
            yield self
        finally:
            Aws.client = original  # type: ignore[method-assign]

    def observations(self) -> list[Observation]:
        """Each wait the callers saw end, in the order they saw them."""
        with self._lock:
            return sorted(self._seen.values(), key=lambda o: o.seen)

    def hook(self, service: str, operation: str) -> Callable[..., Any] | None:
        return self._hooks.get((service, operation))

    def timed(self, aws: Aws, service: str, operation: str,
              call: Callable[..., Any]) -> Callable[..., Any]:
        """`call`, its start and end kept when it is one of the tails' calls (`TIMED`)."""
        if f"{service}.{operation}" not in TIMED:
            return call

        def timing(*args: Any, **kwargs: Any) -> Any:
            started = self.now()
            try:
                return call(*args, **kwargs)
            finally:
                with self._lock:
                    self._timed.append(Call(f"{service}.{operation}", aws.region, started,
                                            self.now()))

        return timing

    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._timed)

    # -- bookkeeping --------------------------------------------------------------------------
    def _observe(self, wait: str, resource: _Resource, start: float, ready: float,
                 now: float, rid: str | None = None) -> None:
        rid = rid or resource.rid
        with self._lock:
            self._seen.setdefault((wait, rid), Observation(wait, rid, resource.region, start,
                                                           ready, now))

    def _nat_available(self, nat: _Resource) -> float:
        return nat.created + self.seconds("nat_gateway.available")

    def _vpc_routes_out(self, vpc: str | None) -> float:
        """When the first live NAT gateway of `vpc` is available (never, without one)."""
        with self._lock:
            nats = [n for n in self._nats.values() if n.vpc == vpc and n.deleted is None]
        return min((self._nat_available(n) for n in nats), default=float("inf"))

    def _nlb_active(self, arn: str) -> float:
        with self._lock:
            nlb = self._nlbs.get(arn)
        return 0.0 if nlb is None else nlb.created + self.seconds("load_balancer.active")

    def _service_start(self, service: _Resource) -> float:
        return max(service.created, self._vpc_routes_out(service.vpc))

    def _service_running(self, service: _Resource) -> float:
        return self._service_start(service) + self.seconds("service.running")

    def _link_start(self, link: _Resource) -> float:
        return max([link.created, *(self._nlb_active(arn) for arn in link.targets)])

    # -- EC2: NAT gateways ----------------------------------------------------------------------
    def _create_nat_gateway(self, aws: Aws, real: Callable[..., Any], **params: Any) -> Any:
        answer = real(**params)
        nat = answer["NatGateway"]
        with self._lock:
            known = self._nats.get(nat["NatGatewayId"])  # a retried create (same client token)
            if known is None:
                self._nats[nat["NatGatewayId"]] = _Resource(nat["NatGatewayId"], aws.region,
                                                            self.now(), vpc=nat.get("VpcId"))
        nat["State"] = self._nat_state(nat, self.now())
        return answer

    def _nat_state(self, nat: dict[str, Any], now: float) -> str:
        with self._lock:
            tracked = self._nats.get(nat["NatGatewayId"])
        if tracked is None:
            return str(nat["State"])
        if tracked.deleted is not None:
            gone = tracked.deleted + self.seconds("nat_gateway.deleted")
            if now < gone:
                return "deleting"
            self._observe("nat_gateway.deleted", tracked, tracked.deleted, gone, now)
            return "deleted"
        ready = self._nat_available(tracked)
        if now < ready:
            return "pending"
        self._observe("nat_gateway.available", tracked, tracked.created, ready, now)
        return "available"

    def _describe_nat_gateways(self, aws: Aws, real: Callable[..., Any], **params: Any) -> Any:
        filters = params.get("Filter") or []
        states = next((f["Values"] for f in filters if f["Name"] == "state"), None)
        if states is not None:  # filter on the state callers would see, not on moto's
            rest = [f for f in filters if f["Name"] != "state"]
            params = {k: v for k, v in params.items() if k != "Filter"}
            if rest:
                params["Filter"] = rest
        answer = real(**params)
        now = self.now()
        shown = []
        for nat in answer["NatGateways"]:
            nat["State"] = self._nat_state(nat, now)
            if states is None or nat["State"] in states:
                shown.append(nat)
        answer["NatGateways"] = shown
        return answer

    def _delete_nat_gateway(self, aws: Aws, real: Callable[..., Any], **params: Any) -> Any:
        answer = real(**params)
        with self._lock:
            tracked = self._nats.get(params["NatGatewayId"])
            if tracked is not None and tracked.deleted is None:
                tracked.deleted = self.now()
        return answer

    # -- ELBv2: the NLB and its targets -------------------------------------------------------
    def _create_load_balancer(self, aws: Aws, real: Callable[..., Any], **params: Any) -> Any:
        answer = real(**params)
        nlb = answer["LoadBalancers"][0]
        with self._lock:
            self._nlbs[nlb["LoadBalancerArn"]] = _Resource(nlb["LoadBalancerArn"], aws.region,
                                                           self.now(), record=copy.deepcopy(nlb))
        self._nlb_view(nlb, self.now())
        return answer

    def _nlb_view(self, nlb: dict[str, Any], now: float) -> None:
        with self._lock:
            tracked = self._nlbs.get(nlb["LoadBalancerArn"])
            if tracked is not None:
                tracked.record = copy.deepcopy(nlb)
        if tracked is None or tracked.deleted is not None:
            return
        ready = tracked.created + self.seconds("load_balancer.active")
        if now < ready:
            nlb["State"] = {"Code": "provisioning"}
        else:
            nlb["State"] = {"Code": "active"}
            self._observe("load_balancer.active", tracked, tracked.created, ready, now)

    def _describe_load_balancers(self, aws: Aws, real: Callable[..., Any], **params: Any) -> Any:
        now = self.now()
        arns: list[str] = params.get("LoadBalancerArns") or []
        names: list[str] = params.get("Names") or []
        ghosts: list[_Resource] = []  # deleted, but AWS still answers for them a while
        with self._lock:
            deleted = [r for r in self._nlbs.values() if r.deleted is not None]
        for nlb in deleted:
            assert nlb.deleted is not None
            asked = (not arns and not names) or nlb.rid in arns \
                or nlb.record.get("LoadBalancerName") in names
            gone = nlb.deleted + self.seconds("load_balancer.deleted")
            if asked and now < gone:
                ghosts.append(nlb)
            elif asked:
                self._observe("load_balancer.deleted", nlb, nlb.deleted, gone, now)
        ghost_arns = {g.rid for g in ghosts}
        ghost_names = {g.record.get("LoadBalancerName") for g in ghosts}
        rest = dict(params)
        if arns:
            rest["LoadBalancerArns"] = [a for a in arns if a not in ghost_arns]
        if names:
            rest["Names"] = [n for n in names if n not in ghost_names]
        if (arns or names) and not rest.get("LoadBalancerArns") and not rest.get("Names"):
            answer: dict[str, Any] = {"LoadBalancers": []}
        else:
            answer = real(**{k: v for k, v in rest.items() if v != []})
            for nlb in answer["LoadBalancers"]:
                self._nlb_view(nlb, now)
        answer["LoadBalancers"] += [copy.deepcopy(g.record) for g in ghosts]
        return answer

    def _delete_load_balancer(self, aws: Aws, real: Callable[..., Any], **params: Any) -> Any:
        arn = params["LoadBalancerArn"]
        now = self.now()
        with self._lock:
            users = [link.rid for link in self._links.values() if arn in link.targets and (
                link.deleted is None or now < link.deleted + self.seconds("vpc_link.deleted"))]
        if users:
            raise ClientError({"Error": {"Code": "ResourceInUse", "Message": (
                f"Load balancer '{arn}' cannot be deleted because it is currently associated "
                f"with another service ({', '.join(users)})")}}, "DeleteLoadBalancer")
        answer = real(**params)
        with self._lock:
            tracked = self._nlbs.get(arn)
            if tracked is not None and tracked.deleted is None:
                tracked.deleted = self.now()
        return answer

    def _describe_target_health(self, aws: Aws, real: Callable[..., Any], **params: Any) -> Any:
        answer = real(**params)
        group = params["TargetGroupArn"]
        with self._lock:
            service = next((s for s in self._services.values()
                            if group in s.targets and s.deleted is None), None)
        if service is None:
            return answer
        now = self.now()
        if service.updated is not None:  # old targets serve until the new ones are healthy
            return answer
        running = self._service_running(service)
        healthy = running + self.seconds("targets.healthy")
        if now < healthy:
            for target in answer["TargetHealthDescriptions"]:
                target["TargetHealth"] = {"State": "initial", "Reason": "Elb.RegistrationInProgress",
                                          "Description": "Target registration is in progress"}
        else:
            self._observe("targets.healthy", service, running, healthy, now, rid=group)
        return answer

    # -- ECS: the service -----------------------------------------------------------------------
    def _create_service(self, aws: Aws, real: Callable[..., Any], **params: Any) -> Any:
        """create_service, and update_service of a service not seen before: a new rollout
        starts now. update_service of a known one: a rolling update (see `_rolling`)."""
        answer = real(**params)
        service = answer["service"]
        with self._lock:
            known = self._services.get(service["serviceArn"])
        if known is not None and params.get("service") and known.deleted is None:
            with self._lock:
                known.updated = self.now()
            self._service_view(service, self.now())
            return answer
        subnets = (service.get("networkConfiguration", {}).get("awsvpcConfiguration", {})
                   .get("subnets", []))
        vpc = None
        if subnets:  # the emulator's own look-up: not an AWS call of gatewayproxy's
            ec2 = self._original_client(aws, "ec2")
            vpc = ec2.describe_subnets(SubnetIds=subnets[:1])["Subnets"][0]["VpcId"]
        groups = tuple(b["targetGroupArn"] for b in service.get("loadBalancers", [])
                       if b.get("targetGroupArn"))
        with self._lock:
            self._services[service["serviceArn"]] = _Resource(
                service["serviceArn"], aws.region, self.now(), vpc=vpc, targets=groups)
        self._service_view(service, self.now())
        return answer

    def _service_view(self, service: dict[str, Any], now: float) -> None:
        with self._lock:
            tracked = self._services.get(service["serviceArn"])
        if tracked is None:
            return
        if tracked.deleted is not None:
            gone = tracked.deleted + self.seconds("service.inactive")
            service["desiredCount"] = 0
            service["pendingCount"] = 0
            if now < gone:
                service["status"] = "DRAINING"
            else:
                service.update(status="INACTIVE", runningCount=0)
                self._observe("service.inactive", tracked, tracked.deleted, gone, now)
            return
        if tracked.updated is not None:
            self._rolling(service, tracked, now)
            return
        start = self._service_start(tracked)
        running = start + self.seconds("service.running")
        if now < running:
            desired = service["desiredCount"]
            deployments = service.get("deployments") or [{}]
            primary = next((d for d in deployments if d.get("status") == "PRIMARY"), deployments[0])
            primary.update(status="PRIMARY", runningCount=0, pendingCount=desired,
                           rolloutState="IN_PROGRESS",
                           rolloutStateReason="ECS deployment in progress.")
            service.update(runningCount=0, pendingCount=desired, deployments=[primary])
        else:
            self._observe("service.running", tracked, start, running, now)

    def _rolled(self, tracked: _Resource) -> float:
        """When a rolling update is complete: new tasks running and healthy, old ones drained."""
        assert tracked.updated is not None
        return tracked.updated + sum(self.seconds(w) for w in AFTER["image"])

    def _rolling(self, service: dict[str, Any], tracked: _Resource, now: float) -> None:
        """The old tasks keep running (and serving) until the new ones are healthy and the old
        targets have drained: two deployments until then, like ECS's rolling update."""
        done = self._rolled(tracked)
        if now >= done:
            self._observe("targets.drained", tracked, tracked.updated or now, done, now)
            return
        desired = service["desiredCount"]
        deployments = service.get("deployments") or [{}]
        new = next((d for d in deployments if d.get("status") == "PRIMARY"), deployments[0])
        new.update(status="PRIMARY", rolloutState="IN_PROGRESS",
                   rolloutStateReason="ECS deployment in progress.")
        old = {**new, "id": f"{new.get('id', 'ecs-svc')}-old", "status": "ACTIVE",
               "rolloutState": "COMPLETED", "runningCount": desired}
        service.update(runningCount=desired, deployments=[new, old])

    def _describe_services(self, aws: Aws, real: Callable[..., Any], **params: Any) -> Any:
        answer = real(**params)
        now = self.now()
        for service in answer["services"]:
            self._service_view(service, now)
        return answer

    def _delete_service(self, aws: Aws, real: Callable[..., Any], **params: Any) -> Any:
        answer = real(**params)
        service = answer["service"]
        with self._lock:
            tracked = self._services.get(service["serviceArn"])
            if tracked is not None and tracked.deleted is None:
                tracked.deleted = self.now()
        self._service_view(service, self.now())
        return answer

    # -- API Gateway: the REST VPC link -------------------------------------------------------
    def _create_vpc_link(self, aws: Aws, real: Callable[..., Any], **params: Any) -> Any:
        answer = real(**params)
        with self._lock:
            self._links[answer["id"]] = _Resource(answer["id"], aws.region, self.now(),
                                                  targets=tuple(params.get("targetArns", [])))
        return self._link_view(answer, self.now())

    def _link_view(self, link: dict[str, Any], now: float) -> Any:
        with self._lock:
            tracked = self._links.get(link["id"])
            if tracked is not None:
                tracked.record = {k: copy.deepcopy(v) for k, v in link.items()
                                  if k != "ResponseMetadata"}
        if tracked is None:
            return link
        start = self._link_start(tracked)
        ready = start + self.seconds("vpc_link.available")
        if now < ready:
            link["status"] = "PENDING"
            link["statusMessage"] = "VPC link is provisioning ENIs"
        else:
            link["status"] = "AVAILABLE"
            link["statusMessage"] = "Your vpc link is ready for use"
            self._observe("vpc_link.available", tracked, start, ready, now)
        return link

    def _deleting_link(self, link: _Resource, now: float) -> dict[str, Any] | None:
        """What AWS answers for a deleted link: DELETING for a while, then nothing."""
        assert link.deleted is not None
        gone = link.deleted + self.seconds("vpc_link.deleted")
        if now < gone:
            return {**copy.deepcopy(link.record), "status": "DELETING",
                    "statusMessage": "VPC link is being deleted"}
        self._observe("vpc_link.deleted", link, link.deleted, gone, now)
        return None

    def _get_vpc_link(self, aws: Aws, real: Callable[..., Any], **params: Any) -> Any:
        with self._lock:
            tracked = self._links.get(params["vpcLinkId"])
        if tracked is not None and tracked.deleted is not None:
            shown = self._deleting_link(tracked, self.now())
            if shown is None:
                raise _not_found("GetVpcLink", "NotFoundException",
                                 "Invalid Vpc Link identifier specified")
            return shown
        return self._link_view(real(**params), self.now())

    def _get_vpc_links(self, aws: Aws, real: Callable[..., Any], **params: Any) -> Any:
        answer = real(**params)
        now = self.now()
        answer["items"] = [self._link_view(item, now) for item in answer.get("items", [])]
        with self._lock:
            deleted = [link for link in self._links.values() if link.deleted is not None]
        for link in deleted:
            shown = self._deleting_link(link, now)
            if shown is not None:
                answer["items"].append(shown)
        return answer

    def _delete_vpc_link(self, aws: Aws, real: Callable[..., Any], **params: Any) -> Any:
        answer = real(**params)
        with self._lock:
            tracked = self._links.get(params["vpcLinkId"])
            if tracked is not None and tracked.deleted is None:
                tracked.deleted = self.now()
        return answer


    # -- API Gateway v2: the VPC link (v2), built from the subnets alone ---------------------
    def _create_vpc_link_v2(self, aws: Aws, real: Callable[..., Any], **params: Any) -> Any:
        answer = real(**params)
        with self._lock:
            self._links_v2[answer["VpcLinkId"]] = _Resource(answer["VpcLinkId"], aws.region,
                                                            self.now())
        return self._link_v2_view(answer, self.now())

    def _link_v2_view(self, link: dict[str, Any], now: float) -> Any:
        with self._lock:
            tracked = self._links_v2.get(link["VpcLinkId"])
            if tracked is not None:
                tracked.record = {k: copy.deepcopy(v) for k, v in link.items()
                                  if k != "ResponseMetadata"}
        if tracked is None:
            return link
        ready = tracked.created + self.seconds("vpc_link_v2.available")
        if now < ready:
            link.update(VpcLinkStatus="PENDING", VpcLinkStatusMessage="VPC link is provisioning")
        else:
            link.update(VpcLinkStatus="AVAILABLE", VpcLinkStatusMessage="VPC link is ready")
            self._observe("vpc_link_v2.available", tracked, tracked.created, ready, now)
        return link

    def _deleting_link_v2(self, link: _Resource, now: float) -> dict[str, Any] | None:
        assert link.deleted is not None
        gone = link.deleted + self.seconds("vpc_link_v2.deleted")
        if now < gone:
            return {**copy.deepcopy(link.record), "VpcLinkStatus": "DELETING"}
        self._observe("vpc_link_v2.deleted", link, link.deleted, gone, now)
        return None

    def _get_vpc_link_v2(self, aws: Aws, real: Callable[..., Any], **params: Any) -> Any:
        with self._lock:
            tracked = self._links_v2.get(params["VpcLinkId"])
        if tracked is not None and tracked.deleted is not None:
            shown = self._deleting_link_v2(tracked, self.now())
            if shown is None:
                raise _not_found("GetVpcLink", "NotFoundException", "VPC link not found")
            return shown
        return self._link_v2_view(real(**params), self.now())

    def _get_vpc_links_v2(self, aws: Aws, real: Callable[..., Any], **params: Any) -> Any:
        answer = real(**params)
        now = self.now()
        answer["Items"] = [self._link_v2_view(item, now) for item in answer.get("Items", [])]
        with self._lock:
            deleted = [link for link in self._links_v2.values() if link.deleted is not None]
        for link in deleted:
            shown = self._deleting_link_v2(link, now)
            if shown is not None:
                answer["Items"].append(shown)
        return answer

    def _delete_vpc_link_v2(self, aws: Aws, real: Callable[..., Any], **params: Any) -> Any:
        answer = real(**params)
        with self._lock:
            tracked = self._links_v2.get(params["VpcLinkId"])
            if tracked is not None and tracked.deleted is None:
                tracked.deleted = self.now()
        return answer


class _Client:
    """A moto client whose hooked operations answer through `Latency`."""

    def __init__(self, layer: Latency, aws: Aws, service: str, real: Any) -> None:
        self._layer = layer
        self._aws = aws
        self._service = service
        self._real = real

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._real, name)
        hook = self._layer.hook(self._service, name)
        answer = attribute if hook is None else functools.partial(hook, self._aws, attribute)
        if callable(answer) and not name.startswith("_"):
            answer = self._layer.timed(self._aws, self._service, name, answer)
        delay = self._layer.call_delay
        if not delay or not callable(answer) or name.startswith("_") or name in (
                "meta", "exceptions", "can_paginate", "get_paginator", "get_waiter"):
            return answer

        def slow(*args: Any, **kwargs: Any) -> Any:
            time.sleep(delay)  # the round trip to AWS
            return answer(*args, **kwargs)

        return slow
