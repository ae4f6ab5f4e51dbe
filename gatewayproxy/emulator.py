"""The local AWS emulator behind `gatewayproxy sandbox`: moto's server, made faithful enough for `up`.

moto keeps ECS services at zero running tasks, loads no AWS managed policies by default, leaves
an API Gateway resource's children behind when it deletes it, ignores tag filters on
DescribeNatGateways and files a subnet created by zone id under no zone; here services run their
desired count at once, the managed policies exist, DeleteResource deletes the subtree, NAT
gateways are filtered by tag and subnets land in their zone, so `up`, `status` and `down` work
end to end without an AWS account, and stacks sharing one emulator stay apart.
The sandbox also plays the failures of gatewayproxy/failures.py: a service deployment whose task
definition uses `gatewayproxy/fail:pull`, `:exit` or `:unhealthy` stops one task per
DescribeServices (with AWS's reason texts, events, an unhealthy target, log lines), and its
circuit breaker fails it (rolling back when it can) once the threshold is reached.
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
        if _plays_failure(self._backend, self.task_definition):
            # Its tasks never run: the deployment stays IN_PROGRESS until it fails.
            self.running_count, self.pending_count = 0, self.desired_count
            for deployment in self.deployments:
                deployment.update(runningCount=0, pendingCount=self.desired_count,
                                  rolloutState="IN_PROGRESS", failedTasks=0)
            return
        self.running_count = self.desired_count
        self.pending_count = 0
        for deployment in self.deployments:
            deployment.update(runningCount=self.desired_count, pendingCount=0,
                              rolloutState="COMPLETED")

    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        service = original_create(self, *args, **kwargs)
        _register_tasks(self, service, running=0 if _plays_failure(
            self, service.task_definition) else None)
        return service

    def update(self: Any, properties: dict[str, Any]) -> Any:
        cluster = properties.get("cluster", "default")
        name = properties.get("service", "").split("/")[-1]
        before = self._get_service(cluster, name).task_definition
        service = original_update(self, properties)
        if service.task_definition != before:
            _new_deployment(service)
        if _plays_failure(self, service.task_definition):
            return service  # the old deployment keeps running; the new one fails
        # The rolling update is over at once: one deployment, of the new task definition.
        service.deployments = [d for d in service.deployments if d["status"] == "PRIMARY"]
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
    backend_class.update_service = update  # type: ignore[method-assign,assignment]
    backend_class.delete_service = delete  # type: ignore[method-assign]
    _play_failures(backend_class)
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
def _plays_failure(backend: Any, task_definition: Any) -> Any:
    """The failure the task definition's image plays (gatewayproxy/failures.py), or None."""
    from gatewayproxy import failures

    if not task_definition:
        return None
    definition = backend.describe_task_definition(task_definition)
    return failures.played(definition.container_definitions[0].get("image", ""))


def _new_deployment(service: Any) -> None:
    """A new task definition starts a new PRIMARY deployment; the old one goes ACTIVE (moto
    keeps one deployment and rewrites it)."""
    from moto.core.utils import utcnow
    from moto.moto_api._internal import mock_random

    old = [d for d in service.deployments if d["status"] == "PRIMARY"]
    for deployment in old:
        deployment["status"] = "ACTIVE"
    now = utcnow()
    template = old[0] if old else {}
    service.deployments.insert(0, {
        **template, "id": f"ecs-svc/{mock_random.randint(0, 32**12)}", "status": "PRIMARY",
        "taskDefinition": service.task_definition, "createdAt": now, "updatedAt": now,
        "rolloutState": "IN_PROGRESS", "failedTasks": 0, "runningCount": 0,
        "pendingCount": service.desired_count, "desiredCount": service.desired_count})


def _play_failures(backend_class: Any) -> None:
    """Each DescribeServices of a service whose new deployment plays a failure stops one more
    of its tasks; CreateService keeps the deploymentConfiguration moto drops; ListTasks filters
    by serviceName (the task's group) as AWS does; targets can be unhealthy."""
    from moto.ecs import responses
    from moto.elbv2 import models as elb_models

    original_describe = backend_class.describe_services
    original_list = backend_class.list_tasks
    original_response = responses.EC2ContainerServiceResponse.create_service
    original_health = elb_models.FakeTargetGroup.health_for

    def describe_services(self: Any, cluster: str, names: list[str]) -> Any:
        found, missing = original_describe(self, cluster, names)
        for service in found:
            _fail_one_task(self, service)
        return found, missing

    def list_tasks(self: Any, *args: Any, service_name: str | None = None, **kwargs: Any) -> Any:
        tasks = original_list(self, *args, **kwargs)
        if service_name:
            tasks = [t for t in tasks if t.group == f"service:{service_name.split('/')[-1]}"]
        return tasks

    def create_service_response(self: Any) -> Any:
        answer = original_response(self)
        config = self._get_param("deploymentConfiguration")
        if config:
            service = self.ecs_backend._get_service(self._get_param("cluster", "default"),
                                                    self._get_param("serviceName"))
            service.deployment_configuration = config
        return answer

    def health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
        bad = getattr(self, "gatewayproxy_unhealthy", {}).get(target["Id"])
        if bad is not None and target["Id"] in self.targets:
            return elb_models.FakeHealthStatus(target["Id"], self.targets[target["Id"]].get(
                "Port", self.port), self.health_check_port, "unhealthy", *bad)
        return original_health(self, target, ec2_backend)

    backend_class.describe_services = describe_services
    backend_class.list_tasks = list_tasks
    responses.EC2ContainerServiceResponse.create_service = create_service_response  # type: ignore[method-assign]
    elb_models.FakeTargetGroup.health_for = health_for  # type: ignore[method-assign]


def _fail_one_task(backend: Any, service: Any) -> None:
    """Play one task failure of the service's IN_PROGRESS primary deployment, and the circuit
    breaker's verdict once its threshold is reached (0.5 x desired, at least 3, at most 200:
    ServiceDeploymentCircuitBreaker.threshold)."""
    import math

    primary = next((d for d in service.deployments if d["status"] == "PRIMARY"), None)
    if primary is None or primary.get("rolloutState") != "IN_PROGRESS":
        return
    failure = _plays_failure(backend, primary["taskDefinition"])
    if failure is None:
        return
    task = _stopped_task(backend, service, primary, failure)
    primary["failedTasks"] = int(primary.get("failedTasks") or 0) + 1
    breaker = (getattr(service, "deployment_configuration", None) or {}).get(
        "deploymentCircuitBreaker", {})
    threshold = min(200, max(3, math.ceil(0.5 * service.desired_count)))
    if not breaker.get("enable") or primary["failedTasks"] < threshold:
        return
    _circuit_breaker(backend, service, primary, bool(breaker.get("rollback")), task)


def _event(service: Any, message: str) -> None:
    from moto.core.utils import utcnow
    from moto.moto_api._internal import mock_random

    service.events.insert(0, {"id": str(mock_random.uuid4()), "createdAt": utcnow(),
                              "message": message})


def _stopped_task(backend: Any, service: Any, deployment: dict[str, Any], failure: Any) -> Any:
    """A STOPPED task of the deployment, as ECS leaves it: its reasons, its container's end,
    no network interface left, an unhealthy target or log lines where the failure has them."""
    from moto.ec2.models import ec2_backends
    from moto.ecs import models

    from gatewayproxy import failures

    cluster = backend._get_cluster(service.cluster_name)
    definition = backend.describe_task_definition(deployment["taskDefinition"])
    task: Any = models.Task(cluster, definition, None, None, backend, group=f"service:{service.name}",
                       launch_type="FARGATE", started_by=deployment["id"],
                       networking_configuration=service.network_configuration or None)
    ec2 = ec2_backends[backend.account_id][backend.region_name]
    address = None
    for attachment in task.attachments:
        details = {d["name"]: d["value"] for d in attachment["details"]}
        address = details.get("privateIPv4Address")
        ec2.delete_network_interface(details["networkInterfaceId"])
    image = definition.container_definitions[0].get("image", "")
    group = (service.load_balancers or [{}])[0].get("targetGroupArn", "")
    words = {"ref": failures.resolved_ref(image), "target_group": group}
    task.desired_status = "STOPPED"
    task.status = "STOPPED"
    task.stopped_reason = failure.stopped_reason.format(**words)
    task.stop_code = failure.stop_code
    container: Any
    for container in task.containers:
        container.last_status = "STOPPED"
        container.exitCode = failure.exit_code
        container.reason = (failure.container_reason or "").format(**words) or None
    backend.tasks.setdefault(cluster.name, {})[task.task_arn] = task
    _event(service, failures.EVENT_STARTED.format(service=service.name, task=task.id))
    if failure.target_reason and group and address:
        _unhealthy_target(backend, service, group, address, failure)
        _event(service, failures.EVENT_UNHEALTHY.format(
            service=service.name, task=task.id, port=service.load_balancers[0].get(
                "containerPort"), target_group=group))
    if failure.log_lines:
        _write_logs(backend, definition, task, failure.log_lines)
    return task


def _unhealthy_target(backend: Any, service: Any, group_arn: str, address: str,
                      failure: Any) -> None:
    from moto.elbv2.models import elbv2_backends

    group: Any = elbv2_backends[backend.account_id][backend.region_name].target_groups.get(
        group_arn)
    if group is None:
        return
    port = service.load_balancers[0].get("containerPort")
    target = f"10.{abs(hash(service.arn)) % 250}.250.{len(group.targets) % 250 + 4}"
    group.register([{"Id": target, "Port": port}])
    unhealthy = getattr(group, "gatewayproxy_unhealthy", {})
    unhealthy[target] = (failure.target_reason, failure.target_description)
    group.gatewayproxy_unhealthy = unhealthy


def _write_logs(backend: Any, definition: Any, task: Any, lines: tuple[str, ...]) -> None:
    """The container's last words in its awslogs stream `<prefix>/<container>/<task id>`."""
    import time

    from moto.logs.models import logs_backends

    container = definition.container_definitions[0]
    options = container.get("logConfiguration", {}).get("options", {})
    logs = logs_backends[backend.account_id][backend.region_name]
    group = options.get("awslogs-group")
    if group not in logs.groups or "awslogs-stream-prefix" not in options:
        return
    stream = f"{options['awslogs-stream-prefix']}/{container.get('name')}/{task.id}"
    logs.create_log_stream(group, stream)
    port = (container.get("portMappings") or [{}])[0].get("containerPort", 80)
    now = int(time.time() * 1000)
    logs.put_log_events(group, stream, [{"timestamp": now + i, "message": line.format(port=port)}
                                        for i, line in enumerate(lines)])


def _circuit_breaker(backend: Any, service: Any, primary: dict[str, Any], rollback: bool,
                     task: Any) -> None:
    """FAILED; with rollback on and a completed deployment before it, back to that one at once
    (the failed deployment is gone, as once ECS has drained it)."""
    from gatewayproxy import failures

    primary["rolloutState"] = "FAILED"
    primary["rolloutStateReason"] = failures.CIRCUIT_BREAKER_REASON
    previous = [d for d in service.deployments
                if d is not primary and d.get("rolloutState") == "COMPLETED"]
    if not rollback or not previous:
        _event(service, failures.EVENT_DEPLOYMENT_FAILED.format(service=service.name,
                                                                deployment=primary["id"]))
        return
    _event(service, failures.EVENT_ROLLING_BACK.format(
        service=service.name, deployment=primary["id"], previous=previous[0]["id"]))
    service.task_definition = previous[0]["taskDefinition"]
    _new_deployment(service)
    service.deployments = [d for d in service.deployments if d["status"] == "PRIMARY"]
    service.deployments[0].update(rolloutState="COMPLETED", runningCount=service.desired_count,
                                  pendingCount=0)
    service.running_count, service.pending_count = service.desired_count, 0
    _register_tasks(backend, service)


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
    patch_moto_health_checks()
    patch_moto_s3_conditional_writes()
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
