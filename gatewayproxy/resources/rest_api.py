"""The REGIONAL REST API itself, and what its routes, stage and permissions share: the spec of
every method (what put_method / put_integration are sent), the hash the stage's description
carries, and the per-command reads of the API's resources and stage (one call each).

The stage's description carries a hash of everything deployed and of the stage settings, written
last, so a re-run with the same config makes no write call (and reads no method), and a changed
config (or a run cut short) resyncs the routes, deploys once and applies the settings.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy import arns
from gatewayproxy.aws import is_not_found
from gatewayproxy.config import Route
from gatewayproxy.context import Context
from gatewayproxy.errors import AwsError
from gatewayproxy.resources import api_access
from gatewayproxy.resources.base import FieldChange, Found, Health, Resource
from gatewayproxy.resources.listener import LISTENER_PORT

STEP = "rest_api"
MARKER = "gatewayproxy "
AUTHORIZATION = {"none": "NONE", "api_key": "NONE", "iam": "AWS_IAM"}
API_ID = f"{STEP}.id"  # output: the API's id, once it exists
_LOCK = threading.RLock()


def invoke_url(api_id: str, region: str, stage: str) -> str:
    return f"https://{arns.execute_api_host(api_id, region)}/{stage}"


def find(ctx: Context) -> dict[str, Any] | None:
    """Ours by the id in the state, else by the stack's tag (API names are not unique)."""
    api_id = ctx.state.get(STEP, "rest_api_id")
    api = ctx.aws.find("apigateway", "get_rest_api", restApiId=api_id) if api_id else None
    if api is not None:
        return dict(api)
    return next((dict(item) for item in ctx.aws.pages("apigateway", "get_rest_apis", items="items",
                                                      token="position", limit=500)
                 if ctx.owns(item.get("tags", {}))), None)


# -- what the config wants -----------------------------------------------------------------------
def backend(ctx: Context) -> dict[str, Any]:
    """The NLB's dns and arn, the VPC link's id and generation, as they published them: `up`
    reads them once they are ready; None in plan before they exist, and in `down` (never waits)."""
    return {"dns": ctx.outputs.get("load_balancer.dns"),
            "nlb_arn": ctx.outputs.get("load_balancer.arn"),
            "link_id": ctx.outputs.get("vpc_link.id"),
            "generation": ctx.outputs.get("vpc_link.generation")}


def desired_methods(ctx: Context, backend: dict[str, Any],
                    functions: dict[str, str]) -> dict[str, dict[str, dict[str, Any]]]:
    """path -> method -> what put_method and put_integration are sent.

    `backend`: the NLB's dns and arn, the VPC link's id and generation; `functions`: each Lambda
    route's function, resolved to its ARN.
    """
    spec: dict[str, dict[str, dict[str, Any]]] = {}
    for route in ctx.config.routes:
        for method in route.methods:
            spec.setdefault(route.path, {})[method] = method_spec(route, method, backend, functions)
    return spec


def method_spec(route: Route, method: str, backend: dict[str, Any],
                functions: dict[str, str]) -> dict[str, Any]:
    integration = (_lambda_integration(functions[route.function]) if route.function
                   else _service_integration(route, method, backend))
    if route.timeout_ms is not None:  # unset: AWS's default (29000), and the hash as before
        integration["timeoutInMillis"] = route.timeout_ms
    return {"method": {"authorizationType": AUTHORIZATION[route.auth],
                       "apiKeyRequired": route.auth == "api_key",
                       "requestParameters": {f"method.request.path.{p}": True
                                             for p in route.path_parameters}},
            "integration": integration}


def _service_integration(route: Route, method: str, backend: dict[str, Any]) -> dict[str, Any]:
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


def spec_hash(spec: dict[str, Any], stage: str, settings: list[dict[str, str]],
              default_endpoint_disabled: bool = False) -> str:
    """`<routes>.<settings>`: each half changes only with what it covers (plan names which).

    A disabled default endpoint counts as deployed: AWS applies the API's
    disableExecuteApiEndpoint only "when you update any setting on any stage, such as updating
    the deployment on the stage" ("Disable the default endpoint for REST APIs"). Left out when
    off, so the hash of every stack without it stays as it was."""
    wanted: dict[str, Any] = {"spec": spec, "stage": stage}
    if default_endpoint_disabled:
        wanted["execute_api_endpoint"] = "disabled"
    routes = json.dumps(wanted, sort_keys=True)
    extra = json.dumps(settings, sort_keys=True)
    return (hashlib.sha256(routes.encode()).hexdigest()[:16] + "."
            + hashlib.sha256(extra.encode()).hexdigest()[:8])


def functions(ctx: Context) -> dict[str, str]:
    """Each Lambda route's function ARN (resolved once, in check; in `down`, what still exists)."""
    try:
        return api_access.resolve_functions(ctx)
    except Exception:  # noqa: BLE001 - `down` of a stack whose function went: nothing to point at
        return {}


def digest(ctx: Context) -> str:
    """The hash of everything the config wants deployed, as the stage should carry it."""
    spec = desired_methods(ctx, backend(ctx), functions(ctx))
    return spec_hash(spec, ctx.config.stage, api_access.stage_settings(ctx),
                     default_endpoint_disabled(ctx))


def default_endpoint_disabled(ctx: Context) -> bool:
    """[api.domain] disable_default_endpoint: only the custom domain answers."""
    return bool(ctx.config.domain and ctx.config.domain.disable_default_endpoint)


# -- reads shared by the API's resources, once per command ------------------------------------
def api_id(ctx: Context) -> str | None:
    """The API's id once it exists (None in plan for a new stack, or after `down`)."""
    found = ctx.outputs.get(API_ID)
    if found:
        return str(found)
    recorded = ctx.state.get(STEP, "rest_api_id")
    if recorded:
        return str(recorded)
    # No state (`down` after a lost state file, import): the API found by the stack's tag.
    found = _cached(ctx, "api", lambda: find(ctx))
    return str(found["id"]) if found else None


def _cached(ctx: Context, key: str, read: Any) -> Any:
    """One read per command, shared by the resources' threads (read under the lock, so no two
    threads keep copies of their own)."""
    with _LOCK:
        box = ctx.outputs.get(f"{STEP}._cache")
        if box is None:
            box = {}
            ctx.outputs.publish(f"{STEP}._cache", box)
        if key not in box:
            box[key] = read()
        return box[key]


def stage(ctx: Context) -> Found | None:
    """The stage as AWS has it now (one read per command)."""
    ident = api_id(ctx)
    if ident is None:
        return None
    return _cached(ctx, f"stage:{ident}", lambda: ctx.aws.find(
        "apigateway", "get_stage", restApiId=ident, stageName=ctx.config.stage))


def deployed_hash(ctx: Context) -> str | None:
    """The hash the stage's description holds: set last, with the settings, by the stage."""
    found = stage(ctx)
    if found is None:
        return None
    description = str(found.get("description", ""))
    return description.removeprefix(MARKER) if description.startswith(MARKER) else None


def in_sync(ctx: Context) -> bool:
    """The stage says everything the config wants is deployed: nothing to read or write.

    Also in `down` (deleting the API deletes its paths and methods, so none is read or deleted
    one by one) and in `status` (the stage's health covers them)."""
    if ctx.command in ("down", "status"):
        return True
    return deployed_hash(ctx) == digest(ctx)


def resources_by_path(ctx: Context) -> dict[str, dict[str, Any]]:
    """path -> the API resource (with its method names): one listing per command, kept up to
    date by the creates and deletes of this command."""
    ident = api_id(ctx)
    if ident is None:
        return {}
    result: dict[str, dict[str, Any]] = _cached(ctx, f"resources:{ident}",
                                                lambda: _list_resources(ctx, ident))
    return result


def _list_resources(ctx: Context, ident: str) -> dict[str, dict[str, Any]]:
    try:
        return {item["path"]: dict(item) for item in ctx.aws.pages(
            "apigateway", "get_resources", items="items", token="position", restApiId=ident,
            limit=500)}
    except AwsError as exc:
        if is_not_found(exc):
            return {}  # the API is gone (a `down` cut short after deleting it)
        raise


def wanted_paths(ctx: Context) -> list[str]:
    """Every path the routes need, parents first ("/" excluded: AWS makes it with the API)."""
    paths: set[str] = set()
    for route in ctx.config.routes:
        parts = [p for p in route.path.split("/") if p]
        paths |= {"/" + "/".join(parts[:depth]) for depth in range(1, len(parts) + 1)}
    return sorted(paths, key=lambda p: (p.count("/"), p))


@dataclass
class RestApi(Resource):
    """REGIONAL, tagged. Deleting it deletes its resources, methods and stages; the API keys
    (made by `gatewayproxy keys`) go with it in `down`."""

    kind: ClassVar[str] = "REST API"

    def name(self, ctx: Context) -> str:
        return ctx.name("api")

    def identity(self, found: Found) -> Any:
        return found["id"]

    def find(self, ctx: Context) -> Found | None:
        return find(ctx)

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        current = bool(found.get("disableExecuteApiEndpoint", False))
        wanted = default_endpoint_disabled(ctx)
        return [] if current == wanted else [
            FieldChange("disable_default_endpoint", current, wanted)]

    def create(self, ctx: Context) -> Found:
        extra: dict[str, Any] = ({"disableExecuteApiEndpoint": True}
                                 if default_endpoint_disabled(ctx) else {})
        api = ctx.aws.call("apigateway", "create_rest_api", name=ctx.name("api"),
                           description=f"gatewayproxy {ctx.stack}",
                           endpointConfiguration={"types": ["REGIONAL"]},
                           tags=ctx.tags(STEP, "rest-api"), **extra)
        self.record(ctx, api)
        return dict(api)

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        # Takes effect with the stage's next deployment (the stage's hash covers it).
        wanted = default_endpoint_disabled(ctx)
        done = ctx.aws.call("apigateway", "update_rest_api", restApiId=found["id"],
                            patchOperations=[{"op": "replace", "path": "/disableExecuteApiEndpoint",
                                              "value": str(wanted)}])
        return {**found, **done}

    def delete(self, ctx: Context, found: Found) -> None:
        # The usage plan (bound to the stage) went first: it reads the stage; the keys now.
        api_access.delete_keys(ctx)
        ctx.aws.find("apigateway", "delete_rest_api", restApiId=found["id"])

    def forget(self, ctx: Context) -> None:
        for key in ("rest_api_id", "deployment_id", "invoke_url", "lambda_functions"):
            ctx.state.forget(STEP, key)

    def publish(self, ctx: Context, found: Found) -> None:
        ctx.outputs.publish(API_ID, found["id"])

    def health(self, ctx: Context, found: Found) -> Health:
        return Health(True, f"REST API {found.get('name')} ({found['id']})")
