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


def patch_moto_acm_dns_validation() -> None:
    """A DNS-validated ACM certificate stays PENDING_VALIDATION until its validation CNAME is in
    a hosted zone of the account, then it is ISSUED, as ACM does ("DNS validation": ACM checks
    for the CNAME it names). moto issues every certificate 60 wall-clock seconds after the
    request, record or not (MOTO_ACM_VALIDATION_WAIT)."""
    from moto.acm import models

    if getattr(models.CertBundle, "_gatewayproxy_patched", False):
        return
    original = models.CertBundle.check

    def check(self: Any) -> None:
        if self.type == "AMAZON_ISSUED" and self.status == "PENDING_VALIDATION":
            if _validation_records_exist(self):
                self.status = "ISSUED"
            return
        original(self)

    models.CertBundle.check = check  # type: ignore[method-assign]
    models.CertBundle._gatewayproxy_patched = True  # type: ignore[attr-defined]


def _validation_records_exist(bundle: Any) -> bool:
    """Every CNAME DescribeCertificate names for the certificate is in one of the account's
    hosted zones."""
    from moto.route53.models import route53_backends

    _, partition, _, _, account, _ = bundle.arn.split(":", 5)
    names = {o["ResourceRecord"]["Name"].lower()
             for o in bundle.describe()["Certificate"].get("DomainValidationOptions", [])}
    backend = route53_backends[account][partition]
    present = {r.name.lower().rstrip(".") + "." for zone in backend.zones.values()
               for r in zone.rrsets if r.type == "CNAME"}
    return bool(names) and names <= present


def patch_moto_disable_execute_api_endpoint() -> None:
    """UpdateRestApi's /disableExecuteApiEndpoint takes "True" or "False" (AWS CLI: value='True');
    moto sets bool(value), so "False" would disable it too."""
    from moto.apigateway import models

    if getattr(models.RestAPI, "_gatewayproxy_patched", False):
        return
    original = models.RestAPI.apply_patch_operations

    def apply(self: Any, patch_operations: list[dict[str, Any]]) -> None:
        original(self, patch_operations)
        for op in patch_operations:
            if op.get("path") == "/disableExecuteApiEndpoint" and op.get("op") == "replace":
                self.disableExecuteApiEndpoint = str(op.get("value")).lower() == "true"

    models.RestAPI.apply_patch_operations = apply  # type: ignore[method-assign]
    models.RestAPI._gatewayproxy_patched = True  # type: ignore[attr-defined]


def patch_moto_domain_names() -> None:
    """GetBasePathMapping on a custom domain without mappings answers NotFoundException, as AWS
    does (moto raises a KeyError: an HTTP 500), and a deleted domain takes its mappings along
    (moto would hand them to a new domain of the same name)."""
    from moto.apigateway import models

    backend_class = models.APIGatewayBackend
    if getattr(backend_class, "_gatewayproxy_domains_patched", False):
        return
    original_create = backend_class.create_domain_name
    original_delete = backend_class.delete_domain_name

    def create(self: Any, domain_name: str, *args: Any, **kwargs: Any) -> Any:
        found = original_create(self, domain_name, *args, **kwargs)
        self.base_path_mappings.setdefault(domain_name, {})
        return found

    def delete(self: Any, domain_name: str) -> None:
        original_delete(self, domain_name)
        self.base_path_mappings.pop(domain_name, None)

    backend_class.create_domain_name = create  # type: ignore[method-assign]
    backend_class.delete_domain_name = delete  # type: ignore[method-assign]
    backend_class._gatewayproxy_domains_patched = True  # type: ignore[attr-defined]


def patch_moto() -> None:
    """Everything that makes moto a faithful enough AWS for gatewayproxy."""
    patch_moto_acm_dns_validation()
    patch_moto_disable_execute_api_endpoint()
    patch_moto_domain_names()
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
