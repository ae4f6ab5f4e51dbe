"""Step 9: the REGIONAL REST API, one HTTP_PROXY integration per route and method, and the stage.

The deployment's description carries a hash of everything deployed, so a re-run with the same
config makes no write call, and a changed config resyncs the routes and deploys once.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from gatewayproxy.config import Route
from gatewayproxy.errors import AwsError
from gatewayproxy.steps.base import Context, StepStatus, ignore_missing
from gatewayproxy.steps.target_group import LISTENER_PORT

NAME = "rest_api"
NEEDS = ("load_balancer.dns", "vpc_link.id")


def invoke_url(api_id: str, region: str, stage: str) -> str:
    return f"https://{api_id}.execute-api.{region}.amazonaws.com/{stage}"


def find(ctx: Context) -> dict[str, Any] | None:
    """Ours by the id in the state, else by the stack's tag (API names are not unique)."""
    api_id = ctx.state.get(NAME, "rest_api_id")
    if api_id:
        try:
            return dict(ctx.aws.call("apigateway", "get_rest_api", restApiId=api_id))
        except AwsError as exc:
            if exc.code != "NotFoundException":
                raise
    kwargs: dict[str, Any] = {"limit": 500}
    while True:
        page = ctx.aws.call("apigateway", "get_rest_apis", **kwargs)
        for item in page.get("items", []):
            if ctx.owns(item.get("tags", {})):
                return dict(item)
        if not page.get("position"):
            return None
        kwargs["position"] = page["position"]


def desired_methods(ctx: Context, dns: str, link_id: str) -> dict[str, dict[str, dict[str, Any]]]:
    """path -> method -> what put_method and put_integration are sent."""
    spec: dict[str, dict[str, dict[str, Any]]] = {}
    for route in ctx.config.routes:
        for method in route.methods:
            spec.setdefault(route.path, {})[method] = _method_spec(route, method, dns, link_id)
    return spec


def _method_spec(route: Route, method: str, dns: str, link_id: str) -> dict[str, Any]:
    params = route.path_parameters
    backend_path = "/".join(p.replace("+}", "}") for p in route.parts)
    return {
        "method": {"authorizationType": "NONE",
                   "requestParameters": {f"method.request.path.{p}": True for p in params}},
        "integration": {
            "type": "HTTP_PROXY", "integrationHttpMethod": method,
            "uri": f"http://{dns}:{LISTENER_PORT}/{backend_path}",
            "connectionType": "VPC_LINK", "connectionId": link_id,
            "requestParameters": {f"integration.request.path.{p}": f"method.request.path.{p}"
                                  for p in params},
        },
    }


def spec_hash(spec: dict[str, Any], stage: str) -> str:
    text = json.dumps({"spec": spec, "stage": stage}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def apply(ctx: Context) -> None:
    dns = ctx.outputs.need("load_balancer.dns")
    link_id = ctx.outputs.need("vpc_link.id")
    api = find(ctx)
    if api is None:
        api = ctx.aws.call("apigateway", "create_rest_api", name=ctx.name("api"),
                           description=f"gatewayproxy {ctx.stack}",
                           endpointConfiguration={"types": ["REGIONAL"]},
                           tags=ctx.tags(NAME, "rest-api"))
        api["_new"] = True
    api_id = api["id"]
    ctx.state.record(NAME, "rest_api_id", api_id)
    spec = desired_methods(ctx, dns, link_id)
    digest = spec_hash(spec, ctx.config.stage)
    if deployed_hash(ctx, api_id) != digest:
        if not api.get("_new"):
            ctx.outputs.publish(f"{NAME}.changes", route_changes(ctx, api_id, spec))
        _sync_routes(ctx, api_id, spec)
        _deploy(ctx, api_id, digest)
    _delete_stale_stages(ctx, api_id)
    url = invoke_url(api_id, ctx.aws.region, ctx.config.stage)
    ctx.state.record(NAME, "invoke_url", url)
    ctx.outputs.publish("rest_api.invoke_url", url)
    ctx.state.mark_done(NAME)


def deployed_hash(ctx: Context, api_id: str) -> str | None:
    try:
        stage = ctx.aws.call("apigateway", "get_stage", restApiId=api_id,
                             stageName=ctx.config.stage)
        deployment = ctx.aws.call("apigateway", "get_deployment", restApiId=api_id,
                                  deploymentId=stage["deploymentId"])
    except AwsError as exc:
        if exc.code == "NotFoundException":
            return None
        raise
    description = str(deployment.get("description", ""))
    return description.rsplit(" ", 1)[-1] if description.startswith("gatewayproxy ") else None


def route_changes(ctx: Context, api_id: str, spec: dict[str, dict[str, Any]]) -> list[str]:
    """Routes added and removed, and a stage rename, in words."""
    have = {f"{m} {path}" for path, item in _resources(ctx, api_id).items()
            for m in item.get("resourceMethods") or {}}
    want = {f"{m} {path}" for path, methods in spec.items() for m in methods}
    words = [f"+{r}" for r in sorted(want - have)] + [f"-{r}" for r in sorted(have - want)]
    stages = [s["stageName"] for s in
              ctx.aws.call("apigateway", "get_stages", restApiId=api_id).get("item", [])]
    if ctx.config.stage not in stages:
        words.append(f"stage: {', '.join(stages) or 'none'} -> {ctx.config.stage}")
    return words or ["integrations changed: redeploy"]


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
            and (current.get("requestParameters") or {}) == body["method"]["requestParameters"]
            and integration.get("httpMethod") == want["integrationHttpMethod"]
            and all(integration.get(k) == want[k] for k in want
                    if k not in ("requestParameters", "integrationHttpMethod"))
            and (integration.get("requestParameters") or {}) == want["requestParameters"])


def _resources(ctx: Context, api_id: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {"restApiId": api_id, "limit": 500}
    while True:
        page = ctx.aws.call("apigateway", "get_resources", **kwargs)
        for item in page.get("items", []):
            found[item["path"]] = item
        if not page.get("position"):
            return found
        kwargs["position"] = page["position"]


def _deploy(ctx: Context, api_id: str, digest: str) -> None:
    deployment = ctx.aws.call("apigateway", "create_deployment", restApiId=api_id,
                              description=f"gatewayproxy {digest}")
    try:
        ctx.aws.call("apigateway", "get_stage", restApiId=api_id, stageName=ctx.config.stage)
    except AwsError as exc:
        if exc.code != "NotFoundException":
            raise
        ctx.aws.call("apigateway", "create_stage", restApiId=api_id, stageName=ctx.config.stage,
                     deploymentId=deployment["id"], tags=ctx.tags(NAME, "stage"))
    else:
        ctx.aws.call("apigateway", "update_stage", restApiId=api_id, stageName=ctx.config.stage,
                     patchOperations=[{"op": "replace", "path": "/deploymentId",
                                       "value": deployment["id"]}])
    ctx.state.record(NAME, "deployment_id", deployment["id"])


def _delete_stale_stages(ctx: Context, api_id: str) -> None:
    stages = ctx.aws.call("apigateway", "get_stages", restApiId=api_id).get("item", [])
    for stage in stages:
        if stage["stageName"] != ctx.config.stage:
            ignore_missing(("NotFoundException",), ctx.aws.call, "apigateway", "delete_stage",
                           restApiId=api_id, stageName=stage["stageName"])


def destroy(ctx: Context) -> None:
    api = find(ctx)
    if api is not None:
        ignore_missing(("NotFoundException",), lambda: ctx.aws.call(
            "apigateway", "delete_rest_api", restApiId=api["id"]))
    for key in ("rest_api_id", "deployment_id", "invoke_url"):
        ctx.state.forget(NAME, key)


def status(ctx: Context) -> StepStatus:
    api_id = ctx.state.get(NAME, "rest_api_id")
    if not api_id:
        return StepStatus(NAME, False, None, "not created")
    try:
        stage = ctx.aws.call("apigateway", "get_stage", restApiId=api_id,
                             stageName=ctx.config.stage)
    except AwsError as exc:
        return StepStatus(NAME, ctx.state.is_done(NAME), False,
                          f"REST API or stage missing (drift): {exc.code}",
                          ctx.state.resources(NAME))
    url = invoke_url(api_id, ctx.aws.region, ctx.config.stage)
    return StepStatus(NAME, ctx.state.is_done(NAME), True,
                      f"stage {ctx.config.stage} on deployment {stage['deploymentId']}",
                      ctx.state.resources(NAME),
                      {"stage": ctx.config.stage, "deployment_id": stage["deploymentId"],
                       "last_updated": str(stage.get("lastUpdatedDate", "")),
                       "invoke_url": url, "routes": [
                           {"path": r.path, "methods": list(r.methods)}
                           for r in ctx.config.routes]})
