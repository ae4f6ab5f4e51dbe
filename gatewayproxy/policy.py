"""`gatewayproxy policy`: the IAM policy a CI role needs to run every command on one stack.

Every AWS operation the tool performs is one row of OPERATIONS: the botocore operation (as
`Aws.call` names it), the scopes its IAM actions are allowed on, and why. Adding an operation
to the tool is adding its row here; tests/test_policy_coverage.py records every operation the
suite performs through gatewayproxy/aws.py and fails naming each one without a row.

A scope is one statement of the document: a resource kind (ARNs built from the stack's names,
account, region and state location), an optional condition, and why it is that wide. Rows
that share a scope share its statement. `*` is used only where AWS offers no resource-level
permission for the action, and the statement's Sid (JSON has no comments) says so.

Sources: the Service Authorization Reference ("Actions, resources, and condition keys for
Amazon EC2 / Amazon Elastic Container Service / Elastic Load Balancing V2 / IAM / CloudWatch
Logs / Amazon API Gateway Management / Application Auto Scaling / Amazon S3"),
https://docs.aws.amazon.com/service-authorization/latest/reference/ ; API Gateway "Control
access to a REST API with IAM permissions" (management actions are apigateway:GET/POST/PUT/
PATCH/DELETE on arn:aws:apigateway:REGION::/path) and "Grant permissions for API Gateway to
create a VPC link"; Amazon ECS "IAM permissions required for Amazon ECS service auto scaling".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatewayproxy import arns
from gatewayproxy.context import RESOURCE_TAG, STACK_TAG, STEP_TAG
from gatewayproxy.state_store import S3Location

if TYPE_CHECKING:
    from gatewayproxy.session import StackSession

VERSION = "2012-10-17"
# IAM's limit for one customer managed policy, whitespace not counted ("IAM and AWS STS quotas").
MANAGED_POLICY_LIMIT = 6144
# Every tag key the tool writes on create (context.tags, the IAM role's region tag, the API
# keys' name tag, the account log role's tag): aws:TagKeys allows these and no other.
TAG_KEYS = (STACK_TAG, STEP_TAG, RESOURCE_TAG, "Name", "gatewayproxy:region", "gatewayproxy:key")
# The account-wide role API Gateway writes access logs with (resources/api_access.py).
ACCOUNT_LOG_ROLE = "gatewayproxy-apigateway-cloudwatch"
EXECUTION_POLICY = arns.managed_policy("service-role/AmazonECSTaskExecutionRolePolicy")
# Service-linked roles the services create on first use (IAM: "Service-linked role permissions").
SERVICE_LINKED_ROLES = {
    arns.service_principal("ecs"): "AWSServiceRoleForECS",
    arns.service_principal("elasticloadbalancing"): "AWSServiceRoleForElasticLoadBalancing",
    arns.service_principal("ecs.application-autoscaling"):
        "AWSServiceRoleForApplicationAutoScaling_ECSService",
    arns.service_principal("ops.apigateway"): "AWSServiceRoleForAPIGateway",
}
# The IAM prefix of each botocore service (most are the same).
IAM_PREFIX = {"elbv2": "elasticloadbalancing", "resourcegroupstaggingapi": "tag",
              "apigatewayv2": "apigateway"}


@dataclass(frozen=True)
class Names:
    """What the ARNs are built from: the stack, where it lives, and where its state is."""

    stack: str
    account: str
    region: str
    state_bucket: str | None = None
    state_key: str | None = None
    functions: tuple[str, ...] = ()  # Lambda function ARNs the API's routes name
    domain: str | None = None  # [api.domain] name
    hosted_zone: str | None = None  # [api.domain] hosted_zone_id, when given

    def arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        return (f"arn:{arns.PARTITION}:{service}:{self.region if region else ''}:"
                f"{self.account if account else ''}:{resource}")

    @property
    def prefix(self) -> str:
        """The prefix of the per-account names the stack gives its resources (Context.name)."""
        return f"gatewayproxy-{self.stack}-"


@dataclass(frozen=True)
class Scope:
    """One statement: `sid` (letters and digits, it says why in the JSON), `why` (the same in
    words, the text output's comment), the resources and an optional condition."""

    sid: str
    why: str
    resources: Callable[[Names], list[str]]
    condition: Callable[[Names, list[str]], dict[str, Any]] | None = None
    # A statement whose action is fixed (tagging as part of a create): the operations that
    # list this scope need `actions`, not their own.
    actions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Op:
    """One AWS operation the tool performs (`service.operation` as `Aws.call` names it; `+name`
    for a permission AWS checks without an API call of ours), its IAM actions (derived from the
    name unless given) and the scopes they are allowed on."""

    operation: str
    scopes: tuple[Scope, ...]
    why: str = ""
    actions: tuple[str, ...] = ()

    @property
    def iam_actions(self) -> tuple[str, ...]:
        if self.actions:
            return self.actions
        service, operation = self.operation.split(".")
        return (f"{IAM_PREFIX.get(service, service)}:{pascal(operation)}",)


def pascal(operation: str) -> str:
    return "".join(part.capitalize() for part in operation.split("_"))


# -- the scopes -----------------------------------------------------------------------------------

def _tag_is_stack(key: str) -> Callable[[Names, list[str]], dict[str, Any]]:
    return lambda n, actions: {"StringEquals": {f"{key}/{STACK_TAG}": n.stack}}


def _created_with_stack_tag(n: Names, actions: list[str]) -> dict[str, Any]:
    return {"StringEquals": {f"aws:RequestTag/{STACK_TAG}": n.stack},
            "ForAllValues:StringEquals": {"aws:TagKeys": list(TAG_KEYS)}}


def _tagging_on_create(condition_key: str, create_actions: Callable[[], list[str]]
                       ) -> Callable[[Names, list[str]], dict[str, Any]]:
    """Tagging is allowed only as part of our own creates, and only with the stack's tag."""
    def condition(n: Names, actions: list[str]) -> dict[str, Any]:
        found = _created_with_stack_tag(n, actions)
        found["StringEquals"][condition_key] = [a.split(":", 1)[1] for a in create_actions()]
        return found
    return condition


def _star(n: Names) -> list[str]:
    return ["*"]


def _ec2(n: Names) -> list[str]:
    """Any EC2 resource of this account and region: the actions and the tag condition narrow
    it (one ARN per resource type would not fit IAM's policy size limit)."""
    return [n.arn("ec2", "*")]


def _ecs(n: Names) -> list[str]:
    cluster = f"{n.prefix}cluster"
    return [n.arn("ecs", f"cluster/{cluster}"), n.arn("ecs", f"service/{cluster}/{n.stack}")]


def _ecs_tagged_on_create(n: Names) -> list[str]:
    return [*_ecs(n), n.arn("ecs", f"task-definition/{n.prefix}app:*")]


def _elb(n: Names) -> list[str]:
    nlb = f"{n.stack}-nlb"
    return [n.arn("elasticloadbalancing", f"loadbalancer/net/{nlb}/*"),
            n.arn("elasticloadbalancing", f"listener/net/{nlb}/*/*"),
            n.arn("elasticloadbalancing", f"targetgroup/{n.stack}-tg-*/*")]


def _stack_roles(n: Names) -> list[str]:
    return [n.arn("iam", f"role/{n.prefix}*", region=False)]


def _log_role(n: Names) -> list[str]:
    return [n.arn("iam", f"role/{ACCOUNT_LOG_ROLE}", region=False)]


def _roles_to_read(n: Names) -> list[str]:
    return [*_stack_roles(n), *_log_role(n), *_service_linked_roles(n)]


def _service_linked_roles(n: Names) -> list[str]:
    return [n.arn("iam", f"role/aws-service-role/{service}/{role}", region=False)
            for service, role in SERVICE_LINKED_ROLES.items()]


def _log_groups(n: Names) -> list[str]:
    groups = (f"/gatewayproxy/{n.stack}", f"/gatewayproxy/{n.stack}/access")
    return [n.arn("logs", f"log-group:{g}{suffix}") for g in groups for suffix in ("", ":*")]


def _apigateway(*paths: str) -> Callable[[Names], list[str]]:
    return lambda n: [n.arn("apigateway", p, account=False) for p in paths]


def _apigateway_domain(n: Names) -> list[str]:
    return [n.arn("apigateway", p, account=False)
            for p in ("/domainnames", f"/domainnames/{n.domain}", f"/domainnames/{n.domain}/*")]


def _functions(n: Names) -> list[str]:
    return [arn for f in n.functions for arn in (f, f"{f}:*")]


def _alarms(n: Names) -> list[str]:
    # Target tracking names its alarms TargetTracking-<resource id>-Alarm...-<uuid>.
    return [n.arn("cloudwatch", f"alarm:TargetTracking-service/{n.prefix}cluster/{n.stack}-*")]


def _state_objects(n: Names) -> list[str]:
    if not (n.state_bucket and n.state_key):
        return []
    return [n.arn("s3", f"{n.state_bucket}/{key}", region=False, account=False)
            for key in (n.state_key, f"{n.state_key}.lock", f"{n.state_key}.pulled-*")]


def _state_bucket(n: Names) -> list[str]:
    return [n.arn("s3", n.state_bucket, region=False, account=False)] if n.state_bucket else []


def _with_domain(build: Callable[[Names], list[str]]) -> Callable[[Names], list[str]]:
    """A custom domain's statements exist only when the config has [api.domain]."""
    return lambda n: build(n) if n.domain else []


def _hosted_zone(n: Names) -> list[str]:
    return [n.arn("route53", f"hostedzone/{n.hosted_zone or '*'}", region=False, account=False)]


def _domain_records(n: Names, actions: list[str]) -> dict[str, Any]:
    # route53:ChangeResourceRecordSetsNormalizedRecordNames: only the domain's alias records and
    # ACM's validation CNAME `_<token>.<domain>` (Route 53: "Using IAM policy conditions for
    # fine-grained access control").
    return {"ForAllValues:StringLike": {
        "route53:ChangeResourceRecordSetsNormalizedRecordNames": [n.domain, f"_*.{n.domain}"]}}


EC2_READ = Scope("Ec2DescribeAnyResourceBecauseEc2DescribeActionsHaveNoResourceLevelPermissions",
                 "EC2 Describe* actions support no resource-level permissions: any resource",
                 _star)
EC2_CREATE = Scope("Ec2CreateOnlyWithTheStackTag",
                   "EC2 creates: only with the stack's tag in the request (TagSpecifications)",
                   _ec2, _created_with_stack_tag)
EC2_TAG_ON_CREATE = Scope(
    "Ec2TagOnlyWhileCreatingWithTheStackTag",
    "ec2:CreateTags, needed to create with tags: only within our creates, with the stack's tag",
    _ec2, _tagging_on_create("ec2:CreateAction", lambda: _actions_of(EC2_CREATE)),
    ("ec2:CreateTags",))
EC2_OURS = Scope("Ec2ChangeOnlyResourcesTaggedWithTheStack",
                 "EC2 changes and deletes: only resources carrying the stack's tag",
                 _ec2, _tag_is_stack("aws:ResourceTag"))
# Creating a VPC link v1 makes a VPC endpoint service for the NLB with the caller's rights.
EC2_VPC_LINK = Scope(
    "Ec2EndpointServicesForVpcLinksAnyResourceBecauseApiGatewayNamesNoneBeforehand",
    "the endpoint service API Gateway makes for a VPC link has no name or tag to scope by "
    "(API Gateway: Grant permissions to create a VPC link): any resource",
    _star)
# CreateVpcEndpoint also authorizes the endpoint service it connects to, which is AWS's (its
# account, not ours: no tag of ours), named by ec2:VpceServiceName (Service Authorization
# Reference, Amazon EC2: CreateVpcEndpoint, resource type vpc-endpoint-service).
EC2_AWS_ENDPOINT_SERVICES = Scope(
    "Ec2ConnectOnlyToTheAwsServicesNetworkNatNoneNeeds",
    "network.nat = none: the AWS services' endpoint services (AWS's account), by name",
    lambda n: [f"arn:{arns.PARTITION}:ec2:{n.region}:*:vpc-endpoint-service/*"],
    lambda n, actions: {"StringLike": {"ec2:VpceServiceName": [
        f"com.amazonaws.{n.region}.{service}" for service in (
            "ecr.api", "ecr.dkr", "logs", "s3", "secretsmanager", "ssm")]}})
ELB_READ = Scope("ElbDescribeAnyResourceBecauseElbDescribeActionsHaveNoResourceLevelPermissions",
                 "Elastic Load Balancing Describe* actions support no resource-level "
                 "permissions: any resource", _star)
ELB_CREATE = Scope("ElbCreateOnlyTheStackNamesWithTheStackTag",
                   "the NLB, its listener and target groups: the stack's names, created only "
                   "with the stack's tag", _elb, _created_with_stack_tag)
ELB_TAG_ON_CREATE = Scope(
    "ElbTagOnlyWhileCreatingWithTheStackTag",
    "elasticloadbalancing:AddTags, needed to create with tags: only within our creates",
    _elb, _tagging_on_create("elasticloadbalancing:CreateAction", lambda: _actions_of(ELB_CREATE)),
    ("elasticloadbalancing:AddTags",))
ELB_OURS = Scope("ElbChangeOnlyTheStackNamesTaggedWithTheStack",
                 "the NLB, its listener and target groups: the stack's names and tag",
                 _elb, _tag_is_stack("aws:ResourceTag"))
ECS_READ = Scope("EcsReadTheStackClusterAndService",
                 "the stack's cluster and service, by name (read before they exist: no tag "
                 "condition)", _ecs)
ECS_CREATE = Scope("EcsCreateTheStackClusterAndServiceWithTheStackTag",
                   "the stack's cluster and service, created only with the stack's tag",
                   _ecs, _created_with_stack_tag)
ECS_REGISTER = Scope(
    "EcsRegisterTaskDefinitionAnyResourceBecauseItHasNoResourceLevelPermissions",
    "RegisterTaskDefinition supports no resource-level permissions: any resource, only with "
    "the stack's tag", _star, _created_with_stack_tag)
ECS_TAG_ON_CREATE = Scope(
    "EcsTagOnlyWhileCreatingWithTheStackTag",
    "ecs:TagResource, needed to create with tags: only within our creates",
    _ecs_tagged_on_create,
    _tagging_on_create("ecs:CreateAction",
                       lambda: [*_actions_of(ECS_CREATE), *_actions_of(ECS_REGISTER)]),
    ("ecs:TagResource",))
ECS_OURS = Scope("EcsChangeTheStackClusterAndServiceTaggedWithTheStack",
                 "the stack's cluster and service, by name and tag", _ecs,
                 _tag_is_stack("aws:ResourceTag"))
ECS_TASK_DEFINITIONS = Scope(
    "EcsTaskDefinitionsAnyResourceBecauseTheseActionsHaveNoResourceLevelPermissions",
    "Describe/List/DeregisterTaskDefinition support no resource-level permissions: any resource",
    _star)
# ListTasks names no task (its resource is the cluster's container instances); the ecs:cluster
# condition narrows it to the stack's cluster (Service Authorization Reference, Amazon ECS).
ECS_LIST_TASKS = Scope(
    "EcsListTasksAnyResourceBecauseItNamesNoTaskOnlyTheStackCluster",
    "ListTasks names no task: any resource, only in the stack's cluster (ecs:cluster)", _star,
    lambda n, actions: {"ArnEquals": {"ecs:cluster": n.arn("ecs", f"cluster/{n.prefix}cluster")}})
ECS_TASKS = Scope("EcsDescribeTheTasksOfTheStackCluster",
                  "the tasks of the stack's cluster (doctor, the deployment watch)",
                  lambda n: [n.arn("ecs", f"task/{n.prefix}cluster/*")])
IAM_READ = Scope("IamReadTheStackRolesAndTheAccountLogRole",
                 "the stack's roles (its name prefix), the account's API Gateway log role and "
                 "the service-linked roles, read before they exist: no tag condition",
                 _roles_to_read)
IAM_CREATE = Scope("IamCreateTheStackRolesWithTheStackTag",
                   "the stack's roles (its name prefix), created only with the stack's tag",
                   _stack_roles, _created_with_stack_tag)
IAM_OURS = Scope("IamChangeTheStackRolesTaggedWithTheStack",
                 "the stack's roles: its name prefix and tag", _stack_roles,
                 _tag_is_stack("aws:ResourceTag"))
IAM_EXECUTION_POLICY = Scope(
    "IamAttachOnlyTheEcsTaskExecutionPolicyToTheStackRoles",
    "attach or detach only AmazonECSTaskExecutionRolePolicy, only on the stack's roles",
    _stack_roles,
    lambda n, actions: {"ArnEquals": {"iam:PolicyARN": EXECUTION_POLICY},
                        **_tag_is_stack("aws:ResourceTag")(n, actions)})
IAM_PASS_TO_ECS = Scope("IamPassTheStackRolesOnlyToEcsTasks",
                        "pass the stack's roles only to ECS tasks (the task definition's "
                        "execution role)", _stack_roles,
                        lambda n, actions: {"StringEquals": {
                            "iam:PassedToService": arns.service_principal("ecs-tasks")}})
IAM_LOG_ROLE = Scope("IamManageTheAccountApiGatewayLogRole",
                     "the account's API Gateway CloudWatch Logs role (made once per account "
                     "when access logs are on)", _log_role)
IAM_PASS_TO_APIGATEWAY = Scope(
    "IamPassTheAccountLogRoleOnlyToApiGateway",
    "pass the account's log role only to API Gateway (UpdateAccount cloudwatchRoleArn)",
    _log_role, lambda n, actions: {"StringEquals": {
        "iam:PassedToService": arns.service_principal("apigateway")}})
IAM_SERVICE_LINKED = Scope(
    "IamCreateOnlyTheServiceLinkedRolesOfEcsElbAutoScalingAndApiGateway",
    "the service-linked roles ECS, ELB, Application Auto Scaling and API Gateway need on "
    "first use", _service_linked_roles,
    lambda n, actions: {"StringEquals": {"iam:AWSServiceName": list(SERVICE_LINKED_ROLES)}})
LOGS_READ = Scope("LogsDescribeGroupsOfThisAccountAndRegion",
                  "DescribeLogGroups is allowed per account and region only, not per group",
                  lambda n: [n.arn("logs", "log-group:*")])
LOGS_OURS = Scope("LogsTheStackLogGroups", "the stack's two log groups, by name", _log_groups)
APIGW_READ = Scope(
    "ApiGatewayReadInThisRegionBecauseItsArnsNameIdsNotNames",
    "API Gateway ARNs have no account and name ids, not names: the REST APIs, VPC links, "
    "usage plans and API keys of this region (the tool finds ours by tag)",
    _apigateway("/restapis", "/restapis/*", "/vpclinks", "/vpclinks/*", "/usageplans",
                "/usageplans/*", "/apikeys", "/apikeys/*"))
APIGW_CREATE = Scope(
    "ApiGatewayCreateOnlyWithTheStackTag",
    "REST APIs, VPC links, usage plans and API keys: created only with the stack's tag",
    _apigateway("/restapis", "/vpclinks", "/usageplans", "/apikeys", "/tags/*"),
    _created_with_stack_tag)
APIGW_CHANGE = Scope(
    "ApiGatewayChangeInThisRegionBecauseItsArnsNameIdsNotNames",
    "API Gateway ARNs name ids, not names: changes below the REST APIs, VPC links, usage "
    "plans and API keys of this region (the tool changes only those tagged with the stack)",
    _apigateway("/restapis/*", "/vpclinks/*", "/usageplans/*", "/apikeys/*"))
APIGW_ACCOUNT = Scope("ApiGatewayTheAccountSettingsOfThisRegion",
                      "the account's API Gateway settings (its CloudWatch Logs role)",
                      _apigateway("/account"))
LAMBDA = Scope("LambdaTheFunctionsTheRoutesName",
               "only the Lambda functions the config's routes name (their invoke permissions)",
               _functions)
AUTOSCALING_READ = Scope(
    "AutoScalingDescribeAnyResourceBecauseDescribeActionsHaveNoResourceLevelPermissions",
    "Application Auto Scaling Describe* and CloudWatch DescribeAlarms support no "
    "resource-level permissions: any resource", _star)
AUTOSCALING = Scope(
    "AutoScalingScalableTargetsOfThisAccountAndRegion",
    "scalable targets are named by generated ids: this account and region's; the tool "
    "registers only the stack's service", lambda n: [n.arn("application-autoscaling",
                                                            "scalable-target/*")])
AUTOSCALING_ALARMS = Scope("CloudWatchTheTargetTrackingAlarmsOfTheStackService",
                           "the alarms target tracking makes for the stack's service",
                           _alarms)
TAGGING_READ = Scope(
    "TagGetResourcesAnyResourceBecauseItHasNoResourceLevelPermissions",
    "the Resource Groups Tagging API supports no resource-level permissions: any resource",
    _star)
STATE_OBJECTS = Scope("S3TheStateObjectAndItsLock", "the S3 state object and its lock object",
                      _state_objects)
STATE_BUCKET = Scope("S3TheStateBucket",
                     "the S3 state bucket (bootstrap, and HeadBucket/HeadObject answers)",
                     _state_bucket)
ACM_REQUEST = Scope(
    "AcmRequestAnyResourceBecauseItNamesNoCertificateOnlyWithTheStackTag",
    "RequestCertificate names no certificate: any resource, only with the stack's tag",
    _with_domain(_star), _created_with_stack_tag)
ACM_LIST = Scope("AcmListAnyResourceBecauseListCertificatesNamesNone",
                 "ListCertificates names no certificate: any resource", _with_domain(_star))
ACM_READ = Scope("AcmReadCertificatesOfThisAccountAndRegion",
                 "certificates have random ids: read those of this account and region (the "
                 "one requested, or the one the config names)",
                 _with_domain(lambda n: [n.arn("acm", "certificate/*")]))
ACM_OURS = Scope("AcmDeleteOnlyCertificatesTaggedWithTheStack",
                 "delete only a certificate the tool requested (the stack's tag)",
                 _with_domain(lambda n: [n.arn("acm", "certificate/*")]),
                 _tag_is_stack("aws:ResourceTag"))
ROUTE53_ANY = Scope("Route53ListZonesAnyResourceBecauseItNamesNoZone",
                    "ListHostedZonesByName names no zone: any resource", _with_domain(_star))
ROUTE53_ZONE = Scope("Route53ReadTheDomainZone", "the domain's hosted zone (any, until found)",
                     _with_domain(_hosted_zone))
ROUTE53_RECORDS = Scope("Route53ChangeOnlyTheDomainRecords",
                        "in the domain's zone, only the domain's aliases and its validation "
                        "record", _with_domain(_hosted_zone), _domain_records)
APIGW_DOMAIN = Scope("ApiGatewayTheCustomDomainName",
                     "the custom domain name and its base path mappings, by name",
                     _with_domain(_apigateway_domain))
NO_PERMISSION = Scope("", "AWS requires no permission", lambda n: [])


def _actions_of(scope: Scope) -> list[str]:
    return sorted({a for op in OPERATIONS if scope in op.scopes for a in op.iam_actions
                   if not a.startswith("iam:")})


GET = ("apigateway:GET",)


# -- the table: every operation the tool performs ----------------------------------------------
# One line per operation. apigateway/apigatewayv2: management actions are HTTP verbs on paths.
OPERATIONS: tuple[Op, ...] = (
    Op("sts.get_caller_identity", (NO_PERMISSION,), "the account id; needs no permission"),
    # EC2 reads (find by tag, ENIs holding a resource, zones)
    Op("ec2.describe_vpcs", (EC2_READ,)),
    Op("ec2.describe_subnets", (EC2_READ,)),
    Op("ec2.describe_internet_gateways", (EC2_READ,)),
    Op("ec2.describe_route_tables", (EC2_READ,)),
    Op("ec2.describe_security_groups", (EC2_READ,)),
    Op("ec2.describe_addresses", (EC2_READ,)),
    Op("ec2.describe_nat_gateways", (EC2_READ,)),
    Op("ec2.describe_network_interfaces", (EC2_READ,)),
    Op("ec2.describe_availability_zones", (EC2_READ,)),
    Op("ec2.describe_vpc_attribute", (EC2_READ,)),
    Op("ec2.describe_vpc_endpoints", (EC2_READ,)),
    Op("ec2.describe_vpc_endpoint_services", (EC2_READ,), "network.nat = none: offered where"),
    # EC2 creates: the new resource carries the stack's tag, its parents already do
    Op("ec2.create_vpc", (EC2_CREATE, EC2_TAG_ON_CREATE)),
    Op("ec2.create_subnet", (EC2_CREATE, EC2_TAG_ON_CREATE, EC2_OURS), "parent: the VPC"),
    Op("ec2.create_internet_gateway", (EC2_CREATE, EC2_TAG_ON_CREATE)),
    Op("ec2.create_route_table", (EC2_CREATE, EC2_TAG_ON_CREATE, EC2_OURS), "parent: the VPC"),
    Op("ec2.create_security_group", (EC2_CREATE, EC2_TAG_ON_CREATE, EC2_OURS), "parent: the VPC"),
    Op("ec2.allocate_address", (EC2_CREATE, EC2_TAG_ON_CREATE)),
    Op("ec2.create_vpc_endpoint", (EC2_CREATE, EC2_TAG_ON_CREATE, EC2_OURS,
                                   EC2_AWS_ENDPOINT_SERVICES),
       "parents: the VPC, subnets, route tables, the endpoints' group; AWS's service"),
    Op("ec2.create_nat_gateway", (EC2_CREATE, EC2_TAG_ON_CREATE, EC2_OURS),
       "parents: the subnet and the Elastic IP"),
    # EC2 changes and deletes of our tagged resources
    Op("ec2.create_route", (EC2_OURS,), "on our route table, to our gateway"),
    Op("ec2.replace_route", (EC2_OURS,)),
    Op("ec2.delete_route", (EC2_OURS,)),
    Op("ec2.associate_route_table", (EC2_OURS,)),
    Op("ec2.disassociate_route_table", (EC2_OURS,)),
    Op("ec2.attach_internet_gateway", (EC2_OURS,)),
    Op("ec2.detach_internet_gateway", (EC2_OURS,)),
    Op("ec2.modify_vpc_attribute", (EC2_OURS,)),
    Op("ec2.authorize_security_group_ingress", (EC2_OURS,)),
    Op("ec2.revoke_security_group_ingress", (EC2_OURS,)),
    Op("ec2.revoke_security_group_egress", (EC2_OURS,), "the endpoints' group: no egress"),
    Op("ec2.delete_route_table", (EC2_OURS,)),
    Op("ec2.delete_subnet", (EC2_OURS,)),
    Op("ec2.delete_internet_gateway", (EC2_OURS,)),
    Op("ec2.delete_security_group", (EC2_OURS,)),
    Op("ec2.delete_nat_gateway", (EC2_OURS,)),
    Op("ec2.delete_vpc_endpoints", (EC2_OURS,)),
    Op("ec2.release_address", (EC2_OURS,)),
    Op("ec2.delete_vpc", (EC2_OURS,)),
    # Elastic Load Balancing
    Op("elbv2.describe_load_balancers", (ELB_READ,)),
    Op("elbv2.describe_load_balancer_attributes", (ELB_READ,)),
    Op("elbv2.describe_listeners", (ELB_READ,)),
    Op("elbv2.describe_target_groups", (ELB_READ,)),
    Op("elbv2.describe_target_group_attributes", (ELB_READ,)),
    Op("elbv2.describe_target_health", (ELB_READ,)),
    Op("elbv2.describe_tags", (ELB_READ,)),
    Op("elbv2.create_load_balancer", (ELB_CREATE, ELB_TAG_ON_CREATE)),
    Op("elbv2.create_target_group", (ELB_CREATE, ELB_TAG_ON_CREATE)),
    Op("elbv2.create_listener", (ELB_CREATE, ELB_TAG_ON_CREATE, ELB_OURS),
       "parent: the NLB; forwards to our target group"),
    Op("elbv2.modify_load_balancer_attributes", (ELB_OURS,)),
    Op("elbv2.modify_target_group_attributes", (ELB_OURS,)),
    Op("elbv2.modify_target_group", (ELB_OURS,), "[container.health_check]"),
    Op("elbv2.modify_listener", (ELB_OURS,)),
    Op("elbv2.delete_listener", (ELB_OURS,)),
    Op("elbv2.delete_target_group", (ELB_OURS,)),
    Op("elbv2.delete_load_balancer", (ELB_OURS,)),
    # ECS
    Op("ecs.describe_clusters", (ECS_READ,)),
    Op("ecs.describe_services", (ECS_READ,)),
    Op("ecs.create_cluster", (ECS_CREATE, ECS_TAG_ON_CREATE)),
    Op("ecs.create_service", (ECS_CREATE, ECS_TAG_ON_CREATE)),
    Op("ecs.update_service", (ECS_OURS,)),
    Op("ecs.delete_service", (ECS_OURS,)),
    Op("ecs.delete_cluster", (ECS_OURS,)),
    Op("ecs.register_task_definition", (ECS_REGISTER, ECS_TAG_ON_CREATE)),
    Op("+iam.pass_role_to_ecs", (IAM_PASS_TO_ECS,), "the task definition's execution role",
       ("iam:PassRole",)),
    Op("ecs.put_cluster_capacity_providers", (ECS_OURS,), "capacity = spot or mixed"),
    Op("ecs.list_tasks", (ECS_LIST_TASKS,), "doctor and the deployment watch: stopped tasks"),
    Op("ecs.describe_tasks", (ECS_TASKS,), "why a task stopped"),
    Op("ecs.describe_task_definition", (ECS_TASK_DEFINITIONS,)),
    Op("ecs.list_task_definitions", (ECS_TASK_DEFINITIONS,)),
    Op("ecs.deregister_task_definition", (ECS_TASK_DEFINITIONS,)),
    # IAM
    Op("iam.get_role", (IAM_READ,)),
    Op("iam.list_role_tags", (IAM_READ,)),
    Op("iam.list_attached_role_policies", (IAM_READ,)),
    Op("iam.create_role", (IAM_CREATE, IAM_LOG_ROLE)),
    Op("+iam.tag_role", (IAM_CREATE, IAM_LOG_ROLE), "CreateRole with Tags",
       ("iam:TagRole",)),
    Op("iam.attach_role_policy", (IAM_EXECUTION_POLICY,)),
    Op("iam.detach_role_policy", (IAM_EXECUTION_POLICY,)),
    Op("iam.delete_role", (IAM_OURS,)),
    Op("iam.update_assume_role_policy", (IAM_LOG_ROLE,)),
    Op("iam.put_role_policy", (IAM_LOG_ROLE, IAM_OURS),
       "the log role's policy; the execution role's secrets policy"),
    Op("iam.get_role_policy", (IAM_READ,)),
    Op("iam.delete_role_policy", (IAM_OURS,), "the execution role's secrets policy"),
    Op("+iam.pass_role", (IAM_PASS_TO_APIGATEWAY,), "UpdateAccount names the log role",
       ("iam:PassRole",)),
    Op("iam.create_service_linked_role", (IAM_SERVICE_LINKED,)),
    # CloudWatch Logs
    Op("logs.describe_log_groups", (LOGS_READ,)),
    Op("logs.create_log_group", (LOGS_OURS,)),
    Op("+logs.tag_resource", (LOGS_OURS,), "CreateLogGroup with tags",
       ("logs:TagResource", "logs:TagLogGroup")),
    Op("logs.put_retention_policy", (LOGS_OURS,)),
    Op("logs.list_tags_log_group", (LOGS_OURS,)),
    Op("logs.filter_log_events", (LOGS_OURS,), "gatewayproxy logs"),
    Op("logs.get_log_events", (LOGS_OURS,), "doctor and failed deploys: a task's last lines"),
    Op("logs.delete_log_group", (LOGS_OURS,)),
    # API Gateway (REST, v1): HTTP verbs on resource paths
    Op("apigateway.get_rest_apis", (APIGW_READ,), actions=GET),
    Op("apigateway.get_rest_api", (APIGW_READ,), actions=GET),
    Op("apigateway.get_resources", (APIGW_READ,), actions=GET),
    Op("apigateway.get_method", (APIGW_READ,), actions=GET),
    Op("apigateway.get_stage", (APIGW_READ,), actions=GET),
    Op("apigateway.get_stages", (APIGW_READ,), actions=GET),
    Op("apigateway.get_deployment", (APIGW_READ,), actions=GET),
    Op("apigateway.get_integration", (APIGW_READ,), actions=GET),
    Op("apigateway.get_vpc_link", (APIGW_READ,), actions=GET),
    Op("apigateway.get_vpc_links", (APIGW_READ,), actions=GET),
    Op("apigateway.get_usage_plans", (APIGW_READ,), actions=GET),
    Op("apigateway.get_usage_plan_key", (APIGW_READ,), actions=GET),
    Op("apigateway.get_api_keys", (APIGW_READ,), actions=GET),
    Op("apigateway.create_rest_api", (APIGW_CREATE,), "POST /restapis; PUT /tags for its tags",
       ("apigateway:POST", "apigateway:PUT")),
    Op("apigateway.create_vpc_link", (APIGW_CREATE,), "v1: also the endpoint service below",
       ("apigateway:POST", "apigateway:PUT")),
    Op("+ec2.vpc_endpoint_service", (EC2_VPC_LINK,), "VPC link v1: its endpoint service",
       ("ec2:CreateVpcEndpointServiceConfiguration", "ec2:DeleteVpcEndpointServiceConfigurations",
        "ec2:DescribeVpcEndpointServiceConfigurations",
        "ec2:ModifyVpcEndpointServicePermissions")),
    Op("apigateway.create_usage_plan", (APIGW_CREATE,), actions=("apigateway:POST",
                                                                 "apigateway:PUT")),
    Op("apigateway.create_api_key", (APIGW_CREATE,), actions=("apigateway:POST",
                                                              "apigateway:PUT")),
    Op("apigateway.create_resource", (APIGW_CHANGE,), actions=("apigateway:POST",)),
    Op("apigateway.create_deployment", (APIGW_CHANGE,), actions=("apigateway:POST",)),
    Op("apigateway.create_stage", (APIGW_CHANGE, APIGW_CREATE), "with tags",
       ("apigateway:POST", "apigateway:PUT")),
    Op("apigateway.create_usage_plan_key", (APIGW_CHANGE,), actions=("apigateway:POST",)),
    Op("apigateway.put_method", (APIGW_CHANGE,), actions=("apigateway:PUT",)),
    Op("apigateway.test_invoke_method", (APIGW_CHANGE,), "doctor, on real AWS",
       actions=("apigateway:POST",)),
    Op("apigateway.put_integration", (APIGW_CHANGE,), actions=("apigateway:PUT",)),
    Op("apigateway.update_stage", (APIGW_CHANGE,), actions=("apigateway:PATCH",)),
    Op("apigateway.update_usage_plan", (APIGW_CHANGE,), actions=("apigateway:PATCH",)),
    Op("apigateway.delete_method", (APIGW_CHANGE,), actions=("apigateway:DELETE",)),
    Op("apigateway.delete_resource", (APIGW_CHANGE,), actions=("apigateway:DELETE",)),
    Op("apigateway.delete_stage", (APIGW_CHANGE,), actions=("apigateway:DELETE",)),
    Op("apigateway.delete_rest_api", (APIGW_CHANGE,), actions=("apigateway:DELETE",)),
    Op("apigateway.delete_vpc_link", (APIGW_CHANGE,), actions=("apigateway:DELETE",)),
    Op("apigateway.delete_usage_plan", (APIGW_CHANGE,), actions=("apigateway:DELETE",)),
    Op("apigateway.delete_usage_plan_key", (APIGW_CHANGE,), actions=("apigateway:DELETE",)),
    Op("apigateway.delete_api_key", (APIGW_CHANGE,), actions=("apigateway:DELETE",)),
    Op("apigateway.update_account", (APIGW_ACCOUNT,), actions=("apigateway:PATCH",)),
    # API Gateway v2 VPC links (for REST APIs): same paths and verbs
    Op("apigateway.update_rest_api", (APIGW_CHANGE,), "api.domain.disable_default_endpoint",
       actions=("apigateway:PATCH",)),
    Op("apigateway.get_domain_name", (APIGW_DOMAIN,), actions=GET),
    Op("apigateway.get_base_path_mapping", (APIGW_DOMAIN,), actions=GET),
    Op("apigateway.create_domain_name", (APIGW_DOMAIN, APIGW_CREATE), "with the stack's tags",
       actions=("apigateway:POST", "apigateway:PUT")),
    Op("apigateway.create_base_path_mapping", (APIGW_DOMAIN,), actions=("apigateway:POST",)),
    Op("apigateway.delete_base_path_mapping", (APIGW_DOMAIN,), actions=("apigateway:DELETE",)),
    Op("apigateway.delete_domain_name", (APIGW_DOMAIN,), actions=("apigateway:DELETE",)),
    Op("acm.request_certificate", (ACM_REQUEST,), "DNS-validated, for [api.domain]"),
    Op("+acm.add_tags_to_certificate", (ACM_REQUEST,), "RequestCertificate with Tags",
       actions=("acm:AddTagsToCertificate",)),
    Op("acm.list_certificates", (ACM_LIST,)),
    Op("acm.describe_certificate", (ACM_READ,)),
    Op("acm.list_tags_for_certificate", (ACM_READ,)),
    Op("acm.delete_certificate", (ACM_OURS,)),
    Op("route53.list_hosted_zones_by_name", (ROUTE53_ANY,)),
    Op("route53.get_hosted_zone", (ROUTE53_ZONE,)),
    Op("route53.list_resource_record_sets", (ROUTE53_ZONE,)),
    Op("route53.change_resource_record_sets", (ROUTE53_RECORDS,)),
    Op("apigatewayv2.create_vpc_link", (APIGW_CREATE,),
       "its ENIs come from API Gateway's service-linked role", ("apigateway:POST",
                                                               "apigateway:PUT")),
    Op("apigatewayv2.get_vpc_link", (APIGW_READ,), actions=GET),
    Op("apigatewayv2.get_vpc_links", (APIGW_READ,), actions=GET),
    Op("apigatewayv2.delete_vpc_link", (APIGW_CHANGE,), actions=("apigateway:DELETE",)),
    # Lambda routes: the functions' invoke permissions (never creates or deletes functions)
    Op("lambda.get_function", (LAMBDA,)),
    Op("lambda.get_policy", (LAMBDA,)),
    Op("lambda.add_permission", (LAMBDA,)),
    Op("lambda.remove_permission", (LAMBDA,)),
    # Application Auto Scaling of the service (ECS: "IAM permissions required for service
    # auto scaling": it also needs ecs:DescribeServices/UpdateService and the alarms)
    Op("application-autoscaling.describe_scalable_targets", (AUTOSCALING_READ,)),
    Op("application-autoscaling.describe_scaling_policies", (AUTOSCALING_READ,)),
    Op("application-autoscaling.register_scalable_target", (AUTOSCALING,),
       "also ecs:DescribeServices/UpdateService (above) and its service-linked role"),
    Op("+application-autoscaling.tag_resource", (AUTOSCALING,), "RegisterScalableTarget with Tags",
       ("application-autoscaling:TagResource",)),
    Op("application-autoscaling.deregister_scalable_target", (AUTOSCALING,)),
    Op("application-autoscaling.put_scaling_policy", (AUTOSCALING,), "and its alarms (below)"),
    Op("application-autoscaling.delete_scaling_policy", (AUTOSCALING,)),
    Op("+cloudwatch.alarms", (AUTOSCALING_ALARMS,), "target tracking's alarms",
       ("cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms")),
    Op("+cloudwatch.describe_alarms", (AUTOSCALING_READ,), "target tracking's alarms",
       ("cloudwatch:DescribeAlarms",)),
    # Resource Groups Tagging API: what is tagged with the stack but not in the state
    Op("resourcegroupstaggingapi.get_resources", (TAGGING_READ,)),
    # The S3 state (issue 14's state, lock, unlock, bootstrap, push/pull); HeadObject is
    # s3:GetObject, HeadBucket is s3:ListBucket (Amazon S3: "Required permissions for S3 API
    # operations"). The lead may adjust.
    Op("s3.get_object", (STATE_OBJECTS,)),
    Op("s3.head_object", (STATE_OBJECTS,), actions=("s3:GetObject",)),
    Op("s3.put_object", (STATE_OBJECTS,)),
    Op("s3.delete_object", (STATE_OBJECTS,)),
    Op("s3.copy_object", (STATE_OBJECTS,), "state pull moves the S3 state aside",
       actions=("s3:GetObject", "s3:PutObject")),
    Op("s3.head_bucket", (STATE_BUCKET,), actions=("s3:ListBucket",)),
    Op("s3.create_bucket", (STATE_BUCKET,)),
    Op("s3.put_bucket_versioning", (STATE_BUCKET,)),
    Op("s3.get_bucket_versioning", (STATE_BUCKET,)),
    Op("s3.put_public_access_block", (STATE_BUCKET,), actions=("s3:PutBucketPublicAccessBlock",)),
    Op("s3.get_public_access_block", (STATE_BUCKET,), actions=("s3:GetBucketPublicAccessBlock",)),
    Op("s3.put_bucket_encryption", (STATE_BUCKET,), actions=("s3:PutEncryptionConfiguration",)),
    Op("s3.get_bucket_encryption", (STATE_BUCKET,), actions=("s3:GetEncryptionConfiguration",)),
    Op("s3.put_bucket_policy", (STATE_BUCKET,)),
    Op("s3.get_bucket_policy", (STATE_BUCKET,)),
    Op("s3.get_bucket_location", (STATE_BUCKET,)),
)

# The commands the policy covers (`sandbox` needs no AWS).
COMMANDS = ("up", "plan", "status", "down", "logs", "keys", "import", "url")


# -- building the document ------------------------------------------------------------------------

def known_operations() -> set[tuple[str, str]]:
    """Every (service, operation) the table covers, as the AWS layer names them."""
    return {tuple(op.operation.split(".", 1)) for op in OPERATIONS  # type: ignore[misc]
            if not op.operation.startswith("+")}


def missing(performed: Iterable[tuple[str, str]]) -> list[str]:
    """`service.operation` of each performed operation the table has no row for, sorted."""
    known = known_operations()
    return sorted(f"{s}.{o}" for s, o in set(performed) if (s, o) not in known)


@dataclass
class Statement:
    scope: Scope
    actions: set[str] = field(default_factory=set)

    def render(self, names: Names) -> dict[str, Any] | None:
        resources = self.scope.resources(names)
        if not resources or not self.scope.sid:
            return None
        body: dict[str, Any] = {"Sid": self.scope.sid, "Effect": "Allow",
                                "Action": sorted(self.actions),
                                "Resource": resources[0] if resources == ["*"] else resources}
        if self.scope.condition is not None:
            body["Condition"] = self.scope.condition(names, sorted(self.actions))
        return body


def statements(names: Names) -> list[tuple[str, dict[str, Any]]]:
    """(why, statement) for each scope some operation uses, in the table's order."""
    grouped: dict[str, Statement] = {}
    for op in OPERATIONS:
        for scope in op.scopes:
            grouped.setdefault(scope.sid, Statement(scope)).actions.update(
                scope.actions or op.iam_actions)
    found = []
    for statement in grouped.values():
        body = statement.render(names)
        if body is not None:
            found.append((statement.scope.why, body))
    return found


def document(names: Names) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": [body for _, body in statements(names)]}


def size(doc: dict[str, Any]) -> int:
    """What IAM counts against its limits: the characters other than whitespace."""
    return len(json.dumps(doc, separators=(",", ":")))


def parts(names: Names, limit: int = MANAGED_POLICY_LIMIT) -> list[dict[str, Any]]:
    """The document cut into documents of at most `limit` characters each, statements whole
    and in order: one managed policy each (IAM: "IAM and AWS STS quotas")."""
    found: list[dict[str, Any]] = []
    for body in document(names)["Statement"]:
        if not found or size({**found[-1], "Statement": [*found[-1]["Statement"], body]}) > limit:
            found.append({"Version": VERSION, "Statement": []})
        found[-1]["Statement"].append(body)
    return found


def text(names: Names) -> str:
    """The document with a `# why` line above each statement (not JSON: --json is)."""
    count = len(parts(names))
    lines = [f"# The IAM policy a CI role needs for stack {names.stack} in account "
             f"{names.account}, region {names.region}",
             f"# ({', '.join(COMMANDS)}). `gatewayproxy policy --json` prints it as bare JSON.",
             f"# {size(document(names))} characters: IAM allows {MANAGED_POLICY_LIMIT} in one "
             f"managed policy, so attach {count} (`--json --part 1` to `--part {count}`).",
             "{", f'  "Version": "{VERSION}",', '  "Statement": [']
    found = statements(names)
    for i, (why, body) in enumerate(found):
        lines.append(f"    # why: {why}")
        rendered = json.dumps(body, indent=2).splitlines()
        rendered[-1] += "," if i < len(found) - 1 else ""
        lines.extend("    " + line for line in rendered)
    lines.extend(["  ]", "}"])
    return "\n".join(lines)


def state_names(location: S3Location | Path) -> tuple[str | None, str | None]:
    """(bucket, key) of an S3 state, else (None, None): a local state needs no S3 right."""
    if isinstance(location, S3Location):
        return location.bucket, location.key
    return None, None


def lambda_arns(function_names: Iterable[str], region: str, account: str) -> tuple[str, ...]:
    """The unqualified ARN of each function a route names (a name, or an ARN)."""
    found = set()
    for function in function_names:
        if function.startswith("arn:"):
            found.add(":".join(function.split(":")[:7]))
        else:
            found.add(arns.arn("lambda", region, account, f"function:{function}"))
    return tuple(sorted(found))


def _recorded_functions(session: StackSession) -> list[str]:
    """Functions an earlier config named (their permissions must still be removable). The
    policy is often printed before the state exists, or its bucket: then there are none."""
    from gatewayproxy.errors import GatewayProxyError
    from gatewayproxy.state import State

    try:
        state = State.open(session.store(), session.config.name)
    except GatewayProxyError:
        return []
    return list(state.get("rest_api", "lambda_functions") or [])


def names_for(session: StackSession) -> Names:
    """The stack's names as the session sees them: the account and region from its AWS session
    (the sandbox's too), the state location from --state, GATEWAYPROXY_STATE or the config."""
    cfg = session.config
    bucket, key = state_names(session.state_location())
    aws = session.aws
    named = [r.function for r in cfg.routes if r.function]
    recorded = _recorded_functions(session)
    domain = cfg.domain
    return Names(stack=cfg.name, account=aws.account_id, region=aws.region,
                 state_bucket=bucket, state_key=key,
                 domain=domain.name if domain else None,
                 hosted_zone=domain.hosted_zone_id if domain else None,
                 functions=lambda_arns([*named, *recorded], aws.region, aws.account_id))
