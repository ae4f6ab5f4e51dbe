"""Step 9: the REGIONAL REST API, one integration per route and method, the stage, and who may
call it (auth, usage plan, Lambda permissions, throttling, access logs: see api_access).

The stage's description carries a hash of everything deployed and of the stage settings, written
last, so a re-run with the same config makes no write call, and a changed config (or a run cut
short) resyncs the routes, deploys once and applies the settings.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from gatewayproxy import arns
from gatewayproxy.config import Route
from gatewayproxy.errors import AwsError
from gatewayproxy.steps import api_access, vpc_link
from gatewayproxy.steps.base import Context, StepStatus, drift_or_error, ignore_missing
from gatewayproxy.steps.target_group import LISTENER_PORT

NAME = "rest_api"
NEEDS = ("load_balancer.dns", "load_balancer.arn", "vpc_link.id", "vpc_link.generation")
MARKER = "gatewayproxy "
AUTHORIZATION = {"none": "NONE", "api_key": "NONE", "iam": "AWS_IAM"}


def invoke_url(api_id: str, region: str, stage: str) -> str:
    return f"https://{arns.execute_api_host(api_id, region)}/{stage}"


def check(ctx: Context) -> None:
    """Before any write: every Lambda route's function exists (kept for apply)."""
    api_access.resolve_functions(ctx)


def find(ctx: Context) -> dict[str, Any] | None:
    """Ours by the id in the state, else by the stack's tag (API names are not unique)."""
    api_id = ctx.state.get(NAME, "rest_api_id")
    api = ctx.aws.find("apigateway", "get_rest_api", restApiId=api_id) if api_id else None
    if api is not None:
        return dict(api)
    return next((dict(item) for item in ctx.aws.pages("apigateway", "get_rest_apis", items="items",
                                                      token="position", limit=500)
                 if ctx.owns(item.get("tags", {}))), None)


def desired_methods(ctx: Context, backend: dict[str, str],
                    functions: dict[str, str]) -> dict[str, dict[str, dict[str, Any]]]:
    """path -> method -> what put_method and put_integration are sent.

    `backend`: the NLB's dns and arn, the VPC link's id and generation; `functions`: each Lambda
    route's function, resolved to its ARN.
    """
    spec: dict[str, dict[str, dict[str, Any]]] = {}
    for route in ctx.config.routes:
        for method in route.methods:
            integration = (_lambda_integration(functions[route.function]) if route.function
                           else _service_integration(route, method, backend))
            spec.setdefault(route.path, {})[method] = {
                "method": {"authorizationType": AUTHORIZATION[route.auth],
                           "apiKeyRequired": route.auth == "api_key",
                           "requestParameters": {f"method.request.path.{p}": True
                                                 for p in route.path_parameters}},
                "integration": integration,
            }
    return spec


def _service_integration(route: Route, method: str, backend: dict[str, str]) -> dict[str, Any]:
    # The container should see exactly the route's path: a REST integration's `uri` spells the
    # whole backend path, each `{name}` filled from `integration.request.path.name`. AWS's
    # "Private integrations for REST APIs" page says the stage is included in the request to a
    # private integration and points at `$context.requestOverride.path`; in REST that overrides
    # one path parameter (in mapping templates, which HTTP_PROXY has none of), and parameter
    # mapping has no key for the whole path. The stage prefix is certain for HTTP APIs ("Create
    # private integrations for HTTP APIs": overwrite:path = $request.path drops it), which name
    # no path. Unverified on a real account for REST: the README says so.
    params = route.path_parameters
    backend_path = "/".join(p.replace("+}", "}") for p in route.parts)
    integration = {
        "type": "HTTP_PROXY", "integrationHttpMethod": method,
        "uri": f"http://{backend['dns']}:{LISTENER_PORT}/{backend_path}",
        "connectionType": "VPC_LINK", "connectionId": backend["link_id"],
        "requestParameters": {f"integration.request.path.{p}": f"method.request.path.{p}"
                              for p in params},
    }
    if backend["generation"] == "v2":  # a v2 link names no NLB itself: the integration does
        integration["integrationTarget"] = backend["nlb_arn"]
    return integration


def _lambda_integration(function_arn: str) -> dict[str, Any]:
    # Lambda proxy integrations are always invoked with POST, whatever the client's method.
    return {"type": "AWS_PROXY", "integrationHttpMethod": "POST",
            "uri": api_access.lambda_uri(function_arn), "requestParameters": {}}


def spec_hash(spec: dict[str, Any], stage: str, settings: list[dict[str, str]]) -> str:
    """`<routes>.<settings>`: each half changes only with what it covers (plan names which)."""
    routes = json.dumps({"spec": spec, "stage": stage}, sort_keys=True)
    extra = json.dumps(settings, sort_keys=True)
    return (hashlib.sha256(routes.encode()).hexdigest()[:16] + "."
            + hashlib.sha256(extra.encode()).hexdigest()[:8])


def apply(ctx: Context) -> None:
    backend = {"dns": ctx.outputs.need("load_balancer.dns"),
               "nlb_arn": ctx.outputs.need("load_balancer.arn"),
               "link_id": ctx.outputs.need("vpc_link.id"),
               "generation": ctx.outputs.need("vpc_link.generation")}
    functions = api_access.resolve_functions(ctx)  # a missing function stops us before any write
    api = find(ctx)
    if api is None:
        api = ctx.aws.call("apigateway", "create_rest_api", name=ctx.name("api"),
                           description=f"gatewayproxy {ctx.stack}",
                           endpointConfiguration={"types": ["REGIONAL"]},
                           tags=ctx.tags(NAME, "rest-api"))
        api["_new"] = True
    api_id = api["id"]
    ctx.state.record(NAME, "rest_api_id", api_id)
    spec = desired_methods(ctx, backend, functions)
    digest = spec_hash(spec, ctx.config.stage, api_access.stage_settings(ctx))
    if ctx.config.access_logs:
        api_access.ensure_access_log_group(ctx)
    deployed = deployed_hash(ctx, api_id)
    if deployed != digest:
        if not api.get("_new"):
            ctx.outputs.publish(f"{NAME}.changes", route_changes(ctx, api_id, spec, deployed, digest))
        _sync_routes(ctx, api_id, spec)
        _deploy(ctx, api_id, digest)
    api_access.sync_permissions(ctx, api_id, functions)
    if ctx.config.uses_api_keys:
        api_access.ensure_usage_plan(ctx, api_id)
    else:
        api_access.delete_usage_plan(ctx)
    # Stages first: AWS refuses to delete a VPC link while any stage's deployment was made with
    # it ("Cannot delete vpc link ... is referenced in [RESTApiId:Method:Resource:Stage]"), even
    # when the integrations point elsewhere now. Then the only stage left is ours, deployed
    # (the hash says so) with the link in use, and after a v1 <-> v2 switch the old link can go.
    _delete_stale_stages(ctx, api_id)
    vpc_link.delete_unused(ctx, ctx.config.vpc_link)
    if not ctx.config.access_logs:
        api_access.delete_access_log_group(ctx)
    url = invoke_url(api_id, ctx.aws.region, ctx.config.stage)
    ctx.state.record(NAME, "invoke_url", url)
    ctx.outputs.publish("rest_api.invoke_url", url)
    ctx.state.mark_done(NAME)


def deployed_hash(ctx: Context, api_id: str) -> str | None:
    """The hash the stage's description holds: set last, with the settings, by `_deploy`."""
    stage = ctx.aws.find("apigateway", "get_stage", restApiId=api_id, stageName=ctx.config.stage)
    if stage is None:
        return None
    description = str(stage.get("description", ""))
    return description.removeprefix(MARKER) if description.startswith(MARKER) else None


def route_changes(ctx: Context, api_id: str, spec: dict[str, dict[str, Any]],
                  deployed: str | None, digest: str) -> list[str]:
    """Routes added and removed, auth and target changes, and a stage rename, in words."""
    resources = _resources(ctx, api_id)
    have = {f"{m} {path}" for path, item in resources.items()
            for m in item.get("resourceMethods") or {}}
    want = {f"{m} {path}" for path, methods in spec.items() for m in methods}
    words = [f"+{r} ({_words(spec[r.split(' ', 1)[1]][r.split(' ', 1)[0]])})"
             for r in sorted(want - have)] + [f"-{r}" for r in sorted(have - want)]
    for entry in sorted(want & have):
        method, path = entry.split(" ", 1)
        current = ctx.aws.call("apigateway", "get_method", restApiId=api_id,
                               resourceId=resources[path]["id"], httpMethod=method)
        old, new = _words(_as_spec(current)), _words(spec[path][method])
        if old != new:
            words.append(f"{entry}: {old} -> {new}")
    stages = [s["stageName"] for s in
              ctx.aws.call("apigateway", "get_stages", restApiId=api_id).get("item", [])]
    if ctx.config.stage not in stages:
        words.append(f"stage: {', '.join(stages) or 'none'} -> {ctx.config.stage}")
    if deployed is None or deployed.split(".")[-1] != digest.split(".")[-1]:
        words.append("stage settings: throttling / access logs")
    return words or ["integrations changed: redeploy"]


def _as_spec(current: dict[str, Any]) -> dict[str, Any]:
    integration = current.get("methodIntegration") or {}
    return {"method": {"authorizationType": current.get("authorizationType"),
                       "apiKeyRequired": bool(current.get("apiKeyRequired"))},
            "integration": {"type": integration.get("type"), "uri": integration.get("uri", "")}}


def _words(body: dict[str, Any]) -> str:
    """`auth api_key, target service` for one method's spec."""
    method, integration = body["method"], body["integration"]
    auth = ("api_key" if method.get("apiKeyRequired")
            else "iam" if method.get("authorizationType") == "AWS_IAM" else "none")
    uri = str(integration.get("uri", ""))
    target = ("lambda:" + uri.split("/functions/")[-1].removesuffix("/invocations").split(":")[6]
              if integration.get("type") == "AWS_PROXY" and "/functions/" in uri else "service")
    return f"auth {auth}, target {target}"


def _sync_routes(ctx: Context, api_id: str, spec: dict[str, dict[str, dict[str, Any]]]) -> None:
    resources = _resources(ctx, api_id)
    wanted_paths = {"/"}
    for path in spec:
        parts = [p for p in path.split("/") if p]
        for depth in range(1, len(parts) + 1):
            wanted_paths.add("/" + "/".join(parts[:depth]))
    # Stale resources first (deleting a parent deletes its children).
    for path in sorted(set(resources) - wanted_paths, key=len):
        if any(path.startswith(p + "/") for p in set(resources) - wanted_paths if p != path):
            continue
        ignore_missing(("NotFoundException",), ctx.aws.call, "apigateway", "delete_resource",
                       restApiId=api_id, resourceId=resources[path]["id"])
    resources = {p: r for p, r in resources.items() if p in wanted_paths}
    for path in sorted(wanted_paths, key=len):
        if path in resources:
            continue
        parent_path, part = path.rsplit("/", 1)
        parent = resources[parent_path or "/"]
        resources[path] = ctx.aws.call("apigateway", "create_resource", restApiId=api_id,
                                       parentId=parent["id"], pathPart=part)
    for path, resource in resources.items():
        wanted = spec.get(path, {})
        for method in resource.get("resourceMethods", {}) or {}:
            if method not in wanted:
                ctx.aws.call("apigateway", "delete_method", restApiId=api_id,
                             resourceId=resource["id"], httpMethod=method)
        for method, body in wanted.items():
            _put_method(ctx, api_id, resource, method, body)


def _put_method(ctx: Context, api_id: str, resource: dict[str, Any], method: str,
                body: dict[str, Any]) -> None:
    ids = {"restApiId": api_id, "resourceId": resource["id"], "httpMethod": method}
    if method in (resource.get("resourceMethods") or {}):
        current = ctx.aws.call("apigateway", "get_method", **ids)
        if _method_matches(current, body):
            return
        ctx.aws.call("apigateway", "delete_method", **ids)
    ctx.aws.call("apigateway", "put_method", **ids, **body["method"])
    ctx.aws.call("apigateway", "put_integration", **ids, **body["integration"])


def _method_matches(current: dict[str, Any], body: dict[str, Any]) -> bool:
    integration = current.get("methodIntegration") or {}
    want = body["integration"]
    return (current.get("authorizationType") == body["method"]["authorizationType"]
            and bool(current.get("apiKeyRequired")) == body["method"]["apiKeyRequired"]
            and (current.get("requestParameters") or {}) == body["method"]["requestParameters"]
            and integration.get("httpMethod") == want["integrationHttpMethod"]
            and all(integration.get(k) == want[k] for k in want
                    if k not in ("requestParameters", "integrationHttpMethod"))
            and (integration.get("requestParameters") or {}) == want["requestParameters"])


def _resources(ctx: Context, api_id: str) -> dict[str, dict[str, Any]]:
    return {item["path"]: item for item in ctx.aws.pages(
        "apigateway", "get_resources", items="items", token="position", restApiId=api_id,
        limit=500)}


def _deploy(ctx: Context, api_id: str, digest: str) -> None:
    """Deploy, point the stage at it and apply the stage settings; the hash goes last, in the
    same call as the settings, so a run cut short anywhere here is redone next time."""
    deployment = ctx.aws.call("apigateway", "create_deployment", restApiId=api_id,
                              description=f"{MARKER}{digest}")
    ops: list[dict[str, str]] = []
    stage = ctx.aws.find("apigateway", "get_stage", restApiId=api_id, stageName=ctx.config.stage)
    if stage is not None:
        ops.append({"op": "replace", "path": "/deploymentId", "value": deployment["id"]})
    else:
        stage = ctx.aws.call("apigateway", "create_stage", restApiId=api_id,
                             stageName=ctx.config.stage, deploymentId=deployment["id"],
                             description=f"{MARKER}(settings pending)",
                             tags=ctx.tags(NAME, "stage"))
    ctx.state.record(NAME, "deployment_id", deployment["id"])
    ops += api_access.settings_patch(ctx, stage)
    ops.append({"op": "replace", "path": "/description", "value": f"{MARKER}{digest}"})
    update: dict[str, Any] = {"restApiId": api_id, "stageName": ctx.config.stage, "patchOperations": ops}
    try:
        ctx.aws.call("apigateway", "update_stage", **update)
    except AwsError as exc:
        if exc.code != "BadRequestException" or "CloudWatch Logs role" not in exc.aws_message:
            raise
        api_access.ensure_account_log_role(ctx)
        ctx.aws.call("apigateway", "update_stage", **update, retry=(api_access.NO_LOG_ROLE,),
                     retry_for=120.0)


def _delete_stale_stages(ctx: Context, api_id: str) -> None:
    stages = ctx.aws.call("apigateway", "get_stages", restApiId=api_id).get("item", [])
    for stage in stages:
        if stage["stageName"] != ctx.config.stage:
            ignore_missing(("NotFoundException",), ctx.aws.call, "apigateway", "delete_stage",
                           restApiId=api_id, stageName=stage["stageName"])


def destroy(ctx: Context) -> None:
    # What refers to the API first: the plan is bound to its stage, the permissions name it.
    api_access.remove_permissions(ctx)
    api_access.delete_usage_plan(ctx)
    api_access.delete_keys(ctx)
    api = find(ctx)
    if api is not None:
        ignore_missing(("NotFoundException",), lambda: ctx.aws.call(
            "apigateway", "delete_rest_api", restApiId=api["id"]))
    for key in ("rest_api_id", "deployment_id", "invoke_url"):
        ctx.state.forget(NAME, key)
    api_access.delete_access_log_group(ctx)


def status(ctx: Context) -> StepStatus:
    api_id = ctx.state.get(NAME, "rest_api_id")
    if not api_id:
        return StepStatus(NAME, False, None, "not created")
    try:
        stage = ctx.aws.call("apigateway", "get_stage", restApiId=api_id,
                             stageName=ctx.config.stage)
    except AwsError as exc:
        return drift_or_error(ctx, NAME, exc, f"REST API or stage missing (drift): {exc.code}")
    url = invoke_url(api_id, ctx.aws.region, ctx.config.stage)
    routes = [route_status(ctx, r) for r in ctx.config.routes]
    lines = [f"stage {ctx.config.stage} on deployment {stage['deploymentId']}"]
    lines += [f"{' '.join(r['methods'])} {r['path']}: auth {r['auth']}, target {r['target']}, "
              f"throttle {r['throttle']}" for r in routes]
    access_log = (stage.get("accessLogSettings") or {}).get("destinationArn")
    return StepStatus(NAME, ctx.state.is_done(NAME), True, "\n".join(lines),
                      ctx.state.resources(NAME),
                      {"stage": ctx.config.stage, "deployment_id": stage["deploymentId"],
                       "last_updated": str(stage.get("lastUpdatedDate", "")),
                       "invoke_url": url, "routes": routes,
                       "access_log_group": access_log.split(":log-group:")[-1] if access_log
                       else None})


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
