"""The local AWS emulator behind `gatewayproxy sandbox`: moto's server, made faithful enough for `up`.

moto keeps ECS services at zero running tasks, loads no AWS managed policies by default, leaves
an API Gateway resource's children behind when it deletes it, ignores tag filters on
DescribeNatGateways and files a subnet created by zone id under no zone; here services run their
desired count at once, the managed policies exist, DeleteResource deletes the subtree, NAT
gateways are filtered by tag and subnets land in their zone, so `up`, `status` and `down` work
end to end without an AWS account, and stacks sharing one emulator stay apart.
Run as `python -m gatewayproxy.emulator --port N`.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def patch_moto_ecs() -> None:
    """Make ECS services behave like healthy ones: desired tasks run at once, and each task
    registers as an IP target (healthy) in the service's target groups, as Fargate does."""
    from moto.ecs import models

    backend_class = models.EC2ContainerServiceBackend
    if getattr(backend_class, "_gatewayproxy_patched", False):
        return
    _keep_capacity_provider_strategy()  # first: the patches below wrap its update_service
    original_init = models.Service.__init__
    original_create = backend_class.create_service
    original_update = backend_class.update_service
    original_delete = backend_class.delete_service

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.running_count = self.desired_count
        self.pending_count = 0
        for deployment in self.deployments:
            deployment.update(runningCount=self.desired_count, pendingCount=0,
                              rolloutState="COMPLETED")

    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        service = original_create(self, *args, **kwargs)
        _register_tasks(self, service)
        return service

    def update(self: Any, *args: Any, **kwargs: Any) -> Any:
        service = original_update(self, *args, **kwargs)
        # The rolling update is over at once: one deployment, of the new task definition.
        service.running_count = service.desired_count
        for deployment in service.deployments:
            deployment.update(runningCount=service.desired_count, pendingCount=0,
                              desiredCount=service.desired_count, rolloutState="COMPLETED",
                              taskDefinition=service.task_definition)
        _register_tasks(self, service)
        return service

    def delete(self: Any, *args: Any, **kwargs: Any) -> Any:
        service = original_delete(self, *args, **kwargs)
        _register_tasks(self, service, running=0)
        return service

    models.Service.__init__ = init  # type: ignore[method-assign]
    backend_class.create_service = create  # type: ignore[method-assign]
    backend_class.update_service = update  # type: ignore[method-assign]
    backend_class.delete_service = delete  # type: ignore[method-assign]
    backend_class._gatewayproxy_patched = True  # type: ignore[attr-defined]


def _keep_capacity_provider_strategy() -> None:
    """CreateService keeps its `capacityProviderStrategy` and then has no launch type, as on
    AWS (moto drops the strategy and reports launchType EC2, so a Spot service would look
    changed on every plan); UpdateService to a strategy drops the launch type. Like AWS, both at
    once are refused, and so is a provider the cluster does not have (CreateService /
    UpdateService, capacityProviderStrategy: "A capacity provider must be associated with the
    cluster to be used in a capacity provider strategy")."""
    from moto.ecs import exceptions, models, responses

    original_create = responses.EC2ContainerServiceResponse.create_service
    original_update = models.EC2ContainerServiceBackend.update_service

    def refuse_unassociated(backend: Any, cluster: str, strategy: list[dict[str, Any]]) -> None:
        have = set(backend._get_cluster(cluster).capacity_providers or [])
        if {s["capacityProvider"] for s in strategy} - have:
            raise exceptions.InvalidParameterException(
                "The specified capacity provider strategy cannot contain a capacity provider "
                "that is not associated with the cluster. Associate the capacity provider with "
                "the cluster or specify a valid capacity provider and try again.")

    def create_service(self: Any) -> Any:
        strategy = self._get_param("capacityProviderStrategy")
        cluster = self._get_param("cluster", "default")
        if strategy and self._get_param("launchType"):
            raise exceptions.InvalidParameterException(
                "Specifying both a launch type and capacity provider strategy is not supported. "
                "Remove one and try again.")
        if strategy:
            refuse_unassociated(self.ecs_backend, cluster, strategy)
        answer = original_create(self)
        if strategy:
            service = self.ecs_backend._get_service(cluster, self._get_param("serviceName"))
            _use_strategy(service, strategy)
        return answer

    def update_service(self: Any, properties: dict[str, Any]) -> Any:
        strategy = properties.get("capacity_provider_strategy")
        if strategy:
            refuse_unassociated(self, properties.get("cluster", "default"), strategy)
        service = original_update(self, properties)
        if strategy:
            _use_strategy(service, strategy)
        return service

    responses.EC2ContainerServiceResponse.create_service = create_service  # type: ignore[method-assign]
    models.EC2ContainerServiceBackend.update_service = update_service  # type: ignore[method-assign,assignment]


def _use_strategy(service: Any, strategy: list[dict[str, Any]]) -> None:
    service.capacity_provider_strategy = strategy
    service.launch_type = None
    for deployment in service.deployments:
        deployment.update(launchType=None, capacityProviderStrategy=strategy)


# The AWS managed policies gatewayproxy attaches; loading moto's ~1,400 others costs a second
# per fresh account.
MANAGED_POLICIES = ("AmazonECSTaskExecutionRolePolicy",)


def patch_moto_iam() -> None:
    """Give every emulated account the AWS managed policies gatewayproxy attaches (only those)."""
    import json

    from moto.iam import aws_managed_policies, models

    if getattr(models.IAMBackend, "_gatewayproxy_patched", False):
        return
    parsed = json.loads(aws_managed_policies.aws_managed_policies_data)
    wanted = {name: parsed[name] for name in MANAGED_POLICIES}

    def init_policies(self: Any) -> list[Any]:
        return [models.AWSManagedPolicy.from_data(name, self.account_id, self.region_name, data)
                for name, data in wanted.items()]

    models.IAMBackend._init_aws_policies = init_policies  # type: ignore[method-assign]
    models.IAMBackend._gatewayproxy_patched = True  # type: ignore[attr-defined]


def patch_moto_apigateway() -> None:
    """DeleteResource deletes the resource and every resource under it, as AWS does (rest_api
    deletes only the top-most stale resource); moto removes that one alone, and the orphans it
    leaves make GetResources fail for good. An unknown id is NotFoundException, not a 500."""
    from moto.apigateway import exceptions, models

    backend_class = models.APIGatewayBackend
    if getattr(backend_class, "_gatewayproxy_patched", False):
        return

    def delete_resource(self: Any, function_id: str, resource_id: str) -> Any:
        resources = self.get_rest_api(function_id).resources
        if resource_id not in resources:
            raise exceptions.ResourceIdNotFoundException()
        for descendant in _descendants(resources, resource_id):
            resources.pop(descendant)
        return resources.pop(resource_id)

    backend_class.delete_resource = delete_resource  # type: ignore[method-assign]
    _keep_integration_connection()
    backend_class._gatewayproxy_patched = True  # type: ignore[attr-defined]


def _keep_integration_connection() -> None:
    """GetMethod / GetIntegration answer the integration's `connectionId` (the VPC link) and
    `integrationTarget` (the NLB, with a v2 link), as AWS's Integration shape has them; moto
    drops both, so every private integration would look changed on each plan."""
    from moto.apigateway import models, responses

    original_put = responses.APIGatewayResponse.put_integration
    original_json = models.Integration.to_json

    def put_integration(self: Any) -> Any:
        answer = original_put(self)
        parts = self.path.split("/")
        integration = self.backend.get_integration(parts[2], parts[4], parts[6])
        integration.gatewayproxy_extra = {
            key: self._get_param(key) for key in ("connectionId", "integrationTarget")
            if self._get_param(key) is not None}
        body = json.loads(answer[2])
        body.update(integration.gatewayproxy_extra)
        return answer[0], answer[1], json.dumps(body)

    def to_json(self: Any) -> dict[str, Any]:
        return {**original_json(self), **getattr(self, "gatewayproxy_extra", {})}

    responses.APIGatewayResponse.put_integration = put_integration  # type: ignore[method-assign]
    models.Integration.to_json = to_json  # type: ignore[method-assign]


def _descendants(resources: dict[str, Any], resource_id: str) -> list[str]:
    """The ids of every resource below `resource_id`, at any depth."""
    found: list[str] = []
    parents = [resource_id]
    while parents:
        children = [rid for rid, r in resources.items() if r.parent_id in parents]
        found += children
        parents = children
    return found


def patch_moto_nat_gateway_tags() -> None:
    """Honour `tag:K` and `tag-key` filters on DescribeNatGateways, as AWS does (moto applies only
    id, vpc, subnet and state filters): else two stacks in one account adopt and delete each
    other's NAT gateway. AWS: DescribeNatGateways lists the filters `tag:<key>` and `tag-key`."""
    from moto.ec2.models.nat_gateways import NatGatewayBackend

    if getattr(NatGatewayBackend, "_gatewayproxy_patched", False):
        return
    original = NatGatewayBackend.describe_nat_gateways

    def describe(self: Any, filters: Any, nat_gateway_ids: list[str] | None) -> list[Any]:
        found = original(self, filters, nat_gateway_ids)
        for name, values in (filters or {}).items():
            if name.startswith("tag:"):
                found = [n for n in found if n.get_filter_value(name) in values]
            elif name == "tag-key":
                found = [n for n in found if set(n.get_filter_value(name)) & set(values)]
        return found

    NatGatewayBackend.describe_nat_gateways = describe  # type: ignore[method-assign]
    NatGatewayBackend._gatewayproxy_patched = True  # type: ignore[attr-defined]


def patch_moto_subnet_zone_ids() -> None:
    """A subnet created by zone id lands in the zone of that id like one created by zone name
    (moto files it under no zone, so the first one counts as its zone's default subnet and maps
    public IPs on launch, which AWS does only for default subnets of a default VPC)."""
    from moto.ec2.models.subnets import SubnetBackend

    if getattr(SubnetBackend, "_gatewayproxy_patched", False):
        return
    original = SubnetBackend.create_subnet

    def create(self: Any, vpc_id: str, cidr_block: str, ipv6_cidr_block: str | None = None,
               availability_zone: str | None = None, availability_zone_id: str | None = None,
               *args: Any, **kwargs: Any) -> Any:
        if availability_zone is None and availability_zone_id:
            names = [z.name for z in self.describe_availability_zones()
                     if z.zone_id == availability_zone_id]
            availability_zone = names[0] if names else None
        return original(self, vpc_id, cidr_block, ipv6_cidr_block, availability_zone,
                        availability_zone_id, *args, **kwargs)

    SubnetBackend.create_subnet = create  # type: ignore[method-assign]
    SubnetBackend._gatewayproxy_patched = True  # type: ignore[attr-defined]


def patch_moto_health_checks() -> None:
    """Keep what moto drops: an ECS service's `healthCheckGracePeriodSeconds` (CreateService,
    UpdateService; DescribeServices answers it, as AWS's Service shape has it), and the
    `Matcher` ModifyTargetGroup sends to a TCP group switching to HTTP checks (moto keeps a
    matcher only for HTTP groups, so every plan would see it changed)."""
    from moto.ecs.responses import EC2ContainerServiceResponse
    from moto.elbv2.responses import ELBV2Response

    if getattr(EC2ContainerServiceResponse, "_gatewayproxy_grace", False):
        return

    def keeping_grace(original: Any) -> Any:
        def handler(self: Any) -> Any:
            answer = original(self)
            grace = self._get_param("healthCheckGracePeriodSeconds")
            if grace is not None:
                service = answer.result["service"]
                service.health_check_grace_period_seconds = int(grace)
            return answer
        return handler

    original_modify = ELBV2Response.modify_target_group

    def modify_target_group(self: Any) -> Any:
        answer = original_modify(self)
        codes = self._get_param("Matcher.HttpCode")
        group = self.elbv2_backend.target_groups.get(self._get_param("TargetGroupArn"))
        if codes is not None and group is not None:
            group.matcher = {"HttpCode": codes}
        return answer

    for name in ("create_service", "update_service"):
        setattr(EC2ContainerServiceResponse, name,
                keeping_grace(getattr(EC2ContainerServiceResponse, name)))
    ELBV2Response.modify_target_group = modify_target_group  # type: ignore[method-assign]
    EC2ContainerServiceResponse._gatewayproxy_grace = True  # type: ignore[attr-defined]
def patch_moto_s3_conditional_writes() -> None:
    """S3 checks a conditional PutObject/DeleteObject (If-Match, If-None-Match) and writes in one
    atomic step: of two writers with the same condition only one wins. moto checks, then writes:
    two threads can both pass the check. Here one conditional write runs at a time."""
    import threading

    from moto.s3.responses import S3Response

    if getattr(S3Response, "_gatewayproxy_patched", False):
        return
    one_at_a_time = threading.RLock()

    def atomic(original: Any) -> Any:
        def write(self: Any, *args: Any, **kwargs: Any) -> Any:
            with one_at_a_time:
                return original(self, *args, **kwargs)

        return write

    S3Response.put_object = atomic(S3Response.put_object)  # type: ignore[method-assign]
    S3Response.delete_object = atomic(S3Response.delete_object)  # type: ignore[method-assign]
    S3Response._gatewayproxy_patched = True  # type: ignore[attr-defined]


def patch_moto() -> None:
    """Everything that makes moto a faithful enough AWS for gatewayproxy."""
    patch_moto_health_checks()
    patch_moto_s3_conditional_writes()
    patch_moto_ecs()
    patch_moto_iam()
    patch_moto_apigateway()
    patch_moto_nat_gateway_tags()
    patch_moto_subnet_zone_ids()


def _register_tasks(backend: Any, service: Any, running: int | None = None) -> None:
    """Put one private IP per running task into the service's target groups (and no others)."""
    from moto.elbv2.models import elbv2_backends

    elb = elbv2_backends[backend.account_id][backend.region_name]
    count = service.desired_count if running is None else running
    wanted = {b["targetGroupArn"]: b.get("containerPort") for b in service.load_balancers}
    prefix = f"10.{abs(hash(service.arn)) % 250}."
    for arn, group in elb.target_groups.items():
        tasks = [t for t in group.targets if t.startswith(prefix)]
        for target in tasks:
            group.targets.pop(target)
        if arn in wanted:
            group.register([{"Id": f"{prefix}{i // 250}.{i % 250 + 4}", "Port": wanted[arn]}
                            for i in range(count)])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=4566)
    args = parser.parse_args(argv)
    patch_moto()
    from moto.server import main as moto_main

    moto_main(["-H", "127.0.0.1", "-p", str(args.port)])


if __name__ == "__main__":
    main()
