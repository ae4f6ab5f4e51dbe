"""Step 9: the REGIONAL REST API, its routes (an API resource per path, a method and its
integration per route and method), the stage, and who may call it (usage plan, Lambda
permissions, throttling, access logs: see api_access). Each is a resource of its own
(gatewayproxy/resources/rest_api.py, api_route.py, api_stage.py, usage_plan.py,
lambda_permission.py, access_log_group.py).

The stage's description carries a hash of everything deployed and of the stage settings, written
last, so a re-run with the same config makes no write call, and a changed config (or a run cut
short) resyncs the routes, deploys once and applies the settings.
"""

from __future__ import annotations

from typing import Any

from gatewayproxy.config import Route
from gatewayproxy.resources import api_access, api_route, api_stage, domain, lambda_permission, usage_plan
from gatewayproxy.resources import rest_api as api
from gatewayproxy.resources.access_log_group import AccessLogGroup
from gatewayproxy.resources.acm_certificate import AcmCertificate
from gatewayproxy.resources.base import Health, Resource, exists
from gatewayproxy.resources.base_path_mapping import BasePathMapping
from gatewayproxy.resources.custom_domain import CustomDomain
from gatewayproxy.resources.dns_alias import AliasRecords
from gatewayproxy.resources.dns_validation_record import ValidationRecord
from gatewayproxy.steps.base import Context, StepStatus

NAME = "rest_api"
API = f"{NAME}.rest_api_id"
STAGE = f"{NAME}.deployment_id"
# The integrations point at the NLB through the VPC link (ported elsewhere: whole steps).
BACKEND = ("load_balancer", "vpc_link")
# An integration's uri names the listener's port: it reads the listener (down: it goes first).
LISTENER = "service.listener_arn"


def desired_methods(ctx: Context, backend: dict[str, Any],
                    functions: dict[str, str]) -> dict[str, dict[str, dict[str, Any]]]:
    """path -> method -> what put_method and put_integration are sent (resources/rest_api)."""
    return api.desired_methods(ctx, backend, functions)


def find(ctx: Context) -> dict[str, Any] | None:
    """The stack's REST API (for readers outside the step)."""
    return api.find(ctx)


def check(ctx: Context) -> None:
    """Before any write: every Lambda route's function exists (kept for the permissions); the
    custom domain's hosted zone and certificate (resources/domain.py)."""
    api_access.resolve_functions(ctx)
    domain.check(ctx)


def resources(ctx: Context) -> list[Resource]:
    paths = api.wanted_paths(ctx)
    nodes: list[Resource] = [api.RestApi(NAME, "rest_api_id", needs=BACKEND)]
    for index, path in enumerate(paths):
        parent = path.rsplit("/", 1)[0]
        nodes.append(api_route.ApiResource(
            NAME, api_route.path_key(path), needs=(API, *BACKEND, *(
                (f"{NAME}.{api_route.path_key(parent)}",) if parent else ())),
            path=path, sweeps=index == 0))
    methods: list[Resource] = []
    for route in ctx.config.routes:
        for method in route.methods:
            methods.append(api_route.ApiMethod(
                NAME, api_route.method_key(method, route.path),
                needs=(API, *BACKEND, LISTENER, *((f"{NAME}.{api_route.path_key(route.path)}",)
                                        if route.path != "/" else ())),
                route=route, method=method, sweeps=not methods))
    nodes += methods
    # Made with the API (not before the network is there: a failed earlier step leaves none).
    logs = AccessLogGroup(NAME, "access_log_group", needs=(API,), retire_after=(STAGE,))
    nodes.append(logs)
    stage_needs = (API, *BACKEND, *(f"{NAME}.{n.key}" for n in nodes[1:] if n is not logs))
    # A renamed stage's old one goes once the usage plan is bound to the new one.
    nodes.append(api_stage.ApiStage(NAME, "deployment_id", retire_after=(f"{NAME}.usage_plan_id",),
                                    needs=(
        *stage_needs, *((f"{NAME}.access_log_group",) if ctx.config.access_logs else ()))))
    nodes.append(usage_plan.UsagePlan(NAME, "usage_plan_id", needs=(STAGE,)))
    permissions = [lambda_permission.LambdaPermission(
        NAME, f"permission {method} {route.path}", needs=(API,), route=route, method=method)
        for route in ctx.config.routes if route.function for method in route.methods]
    nodes += permissions
    nodes.append(lambda_permission.PermissionSweep(
        NAME, "lambda_permission_sweep", needs=(API,),
        retire_after=tuple(f"{NAME}.{p.key}" for p in permissions)))
    return nodes + domain_resources()


def domain_resources() -> list[Resource]:
    """[api.domain]: certificate -> validation record (ready: the certificate issued) ->
    custom domain -> mapping to the stage, alias records. Declared with or without the domain
    in the config: removed, up deletes what the state still holds."""
    certificate, custom = f"{NAME}.{domain.CERTIFICATE}", f"{NAME}.{domain.DOMAIN}"
    validation = f"{NAME}.{domain.VALIDATION}"
    return [
        # A renamed domain's old certificate goes once the custom domain moved off it.
        # Requested with the API (not before the network is there: a failed earlier step
        # leaves none); validated while the routes and the stage are made.
        AcmCertificate(NAME, domain.CERTIFICATE, needs=(API,), retire_after=(custom,)),
        ValidationRecord(NAME, domain.VALIDATION, needs=(exists(certificate),)),
        # The validation record is ready once the certificate is issued.
        CustomDomain(NAME, domain.DOMAIN, needs=(certificate, validation)),
        BasePathMapping(NAME, domain.MAPPING, needs=(custom, STAGE)),
        AliasRecords(NAME, domain.ALIAS, needs=(custom,)),
    ]


def status_of(ctx: Context, step: str, healths: list[tuple[Resource, Health]]) -> StepStatus:
    """The stage, and each route as the config has it (who may call it, where it goes)."""
    stage = next((h for r, h in healths if isinstance(r, api_stage.ApiStage)), None)
    rest = next((h for r, h in healths if isinstance(r, api.RestApi)), None)
    if rest is None or rest.ok is None:
        return StepStatus(NAME, False, None, "not created")
    if stage is None or not stage.ok or not rest.ok:
        # A read AWS refused says more than the drift it may cause elsewhere.
        broken = next((h for h in (stage, rest) if h is not None and "error" in h.details),
                      None) or next(h for h in (rest, stage) if h is not None and not h.ok)
        return StepStatus(NAME, ctx.state.is_done(NAME), False, broken.summary,
                          ctx.state.resources(NAME), broken.details)
    routes = [route_status(ctx, r) for r in ctx.config.routes]
    lines = [stage.summary]
    lines += [f"{' '.join(r['methods'])} {r['path']}: auth {r['auth']}, target {r['target']}, "
              f"throttle {r['throttle']}" for r in routes]
    domain_lines, domain_details, domain_ok = domain.status(healths)
    return StepStatus(NAME, ctx.state.is_done(NAME), domain_ok, "\n".join(lines + domain_lines),
                      ctx.state.resources(NAME), {**stage.details, "routes": routes,
                                                  **domain_details})


def route_status(ctx: Context, route: Route) -> dict[str, Any]:
    """A route as `status` shows it: who may call it, where it goes, how fast."""
    throttle = route.throttle or ctx.config.throttle
    words = (f"{throttle.rate:g}/s burst {throttle.burst}" if throttle else "account default")
    if route.auth == "api_key":
        plan = ctx.config.usage_plan
        words += f"; per key {plan.rate:g}/s burst {plan.burst}" + (
            f", {plan.quota}/{plan.quota_period}" if plan.quota else "")
    return {"path": route.path, "methods": list(route.methods), "auth": route.auth,
            "target": route.target, "throttle": words}
