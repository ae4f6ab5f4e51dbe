"""The REST API's routes: an API resource per path, and a method with its integration per
route and method. Not recorded in the state: the API holds them (deleting it deletes them), and
the stage's hash says when they are all as the config wants, so a no-op `up` reads none."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy.config import Route
from gatewayproxy.context import Context
from gatewayproxy.resources import rest_api as api
from gatewayproxy.resources.base import FieldChange, Found, Health, Resource

IN_SYNC = {"in_sync": True}
TIMEOUT = "timeoutInMillis"  # PutIntegration: 50 to 29000 ms unless the quota was raised
DEFAULT_TIMEOUT_MS = 29_000  # what find answers when the stage's hash covers it


def path_key(path: str) -> str:
    return f"resource {path}"


def method_key(method: str, path: str) -> str:
    return f"method {method} {path}"


@dataclass
class _Held(Resource):
    """Held by the API: nothing of its own in the state, nothing for `status` to read."""

    def identity(self, found: Found) -> Any:
        return None

    def record(self, ctx: Context, found: Found) -> None:
        pass

    def forget(self, ctx: Context) -> None:
        pass

    def recorded(self, ctx: Context) -> Any:
        return None


@dataclass
class ApiResource(_Held):
    """One path of the API (`/teams`, `/teams/{team}`). `sweeps`: this one also deletes the
    paths no route needs any more (deleting a path deletes everything under it)."""

    path: str = "/"
    sweeps: bool = False
    kind: ClassVar[str] = "API resource"

    def name(self, ctx: Context) -> str:
        return self.path

    def find(self, ctx: Context) -> Found | None:
        if api.api_id(ctx) is None:
            return None
        if api.in_sync(ctx):
            return dict(IN_SYNC)
        return api.resources_by_path(ctx).get(self.path)

    def create(self, ctx: Context) -> Found:
        parent_path, part = self.path.rsplit("/", 1)
        paths = api.resources_by_path(ctx)
        made = ctx.aws.call("apigateway", "create_resource", restApiId=api.api_id(ctx),
                            parentId=paths[parent_path or "/"]["id"], pathPart=part)
        paths[self.path] = dict(made)
        return dict(made)

    def delete(self, ctx: Context, found: Found) -> None:
        if found.get("in_sync"):
            return  # `down`: the API's deletion takes it
        ctx.aws.find("apigateway", "delete_resource", restApiId=api.api_id(ctx),
                     resourceId=found["id"])
        api.resources_by_path(ctx).pop(found["path"], None)

    def stale(self, ctx: Context) -> list[Found]:
        if not self.sweeps or api.api_id(ctx) is None or api.in_sync(ctx):
            return []
        paths = api.resources_by_path(ctx)
        extra = set(paths) - set(api.wanted_paths(ctx)) - {"/"}
        return [paths[p] for p in sorted(extra)
                if not any(p.startswith(other + "/") for other in extra)]

    def stale_name(self, ctx: Context, found: Found) -> str:
        return str(found["path"])


@dataclass
class ApiMethod(_Held):
    """A route's method and its integration (service through the VPC link, or Lambda).
    `sweeps`: this one also deletes the methods no route has any more."""

    route: Route | None = None
    method: str = "GET"
    sweeps: bool = False
    kind: ClassVar[str] = "API method"

    def name(self, ctx: Context) -> str:
        return f"{self.method} {self._route.path}"

    @property
    def _route(self) -> Route:
        assert self.route is not None
        return self.route

    def _want(self, ctx: Context) -> dict[str, Any]:
        return api.method_spec(self._route, self.method, api.backend(ctx), api.functions(ctx))

    def find(self, ctx: Context) -> Found | None:
        ident = api.api_id(ctx)
        if ident is None:
            return None
        if api.in_sync(ctx):
            return dict(IN_SYNC)
        resource = api.resources_by_path(ctx).get(self._route.path)
        if resource is None or self.method not in (resource.get("resourceMethods") or {}):
            return None
        current = ctx.aws.find("apigateway", "get_method", restApiId=ident,
                               resourceId=resource["id"], httpMethod=self.method)
        return None if current is None else {**current, "resourceId": resource["id"]}

    def diff(self, ctx: Context, found: Found) -> list[FieldChange]:
        if found.get("in_sync"):
            return []
        want = self._want(ctx)
        if matches(found, want):
            return []
        old, new = words(as_spec(found)), words(want)
        changes = [FieldChange(field, old[field], new[field]) for field in ("auth", "target")
                   if old[field] != new[field]]
        if changes:
            return changes
        integration = found.get("methodIntegration") or {}
        fields = integration_fields(integration, want["integration"])
        timeout = ([FieldChange("timeout_ms", timeout_of(integration), timeout_of(want["integration"]))]
                   if TIMEOUT in fields else [])
        fields = [f for f in fields if f != TIMEOUT]
        return timeout + ([FieldChange("integration", ", ".join(fields) or "parameters",
                                             "as in the config")]
                          if fields or not timeout else [])

    def create(self, ctx: Context) -> Found:
        resource = api.resources_by_path(ctx)[self._route.path]
        ids = {"restApiId": api.api_id(ctx), "resourceId": resource["id"], "httpMethod": self.method}
        body = self._want(ctx)
        ctx.aws.call("apigateway", "put_method", **ids, **body["method"])
        ctx.aws.call("apigateway", "put_integration", **ids, **body["integration"])
        resource.setdefault("resourceMethods", {})[self.method] = {}
        return {"resourceId": resource["id"], "httpMethod": self.method}

    def update(self, ctx: Context, found: Found, changes: list[FieldChange]) -> Found:
        # put_method on an existing method is refused (ConflictException): delete, then put.
        ctx.aws.call("apigateway", "delete_method", restApiId=api.api_id(ctx),
                     resourceId=found["resourceId"], httpMethod=self.method)
        return self.create(ctx)

    def delete(self, ctx: Context, found: Found) -> None:
        if found.get("in_sync"):
            return  # `down`: the API's deletion takes it
        ctx.aws.find("apigateway", "delete_method", restApiId=api.api_id(ctx),
                     resourceId=found["resourceId"], httpMethod=found["httpMethod"])

    def stale(self, ctx: Context) -> list[Found]:
        if not self.sweeps or api.api_id(ctx) is None or api.in_sync(ctx):
            return []
        wanted = {(m, r.path) for r in ctx.config.routes for m in r.methods}
        return [{"resourceId": item["id"], "httpMethod": m, "path": path}
                for path, item in sorted(api.resources_by_path(ctx).items())
                for m in sorted(item.get("resourceMethods") or {}) if (m, path) not in wanted]

    def stale_name(self, ctx: Context, found: Found) -> str:
        return f"{found['httpMethod']} {found['path']}"

    def health(self, ctx: Context, found: Found) -> Health:
        return Health(True, f"{self.method} {self._route.path}")


def matches(current: dict[str, Any], body: dict[str, Any]) -> bool:
    """Does the method AWS has do what `body` (put_method + put_integration) says?"""
    integration = current.get("methodIntegration") or {}
    want = body["integration"]
    return (current.get("authorizationType") == body["method"]["authorizationType"]
            and bool(current.get("apiKeyRequired")) == body["method"]["apiKeyRequired"]
            and (current.get("requestParameters") or {}) == body["method"]["requestParameters"]
            and integration.get("httpMethod") == want["integrationHttpMethod"]
            and not integration_fields(integration, want)
            and (integration.get("requestParameters") or {}) == want["requestParameters"])


def integration_fields(integration: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """The integration fields (put_integration's names) AWS has otherwise than `want` (e.g.
    connectionId after a VPC link switch; moto leaves it out of get_method, so there every
    private integration reads as changed once the stage's hash differs)."""
    fields = [k for k in want if k not in ("requestParameters", "integrationHttpMethod", TIMEOUT)
              and integration.get(k) != want[k]]
    return fields + ([TIMEOUT] if timeout_of(integration) != timeout_of(want) else [])


def timeout_of(integration: dict[str, Any]) -> int:
    """The integration's timeout in ms: AWS's default, 29000, when none was sent."""
    return int(integration.get(TIMEOUT) or DEFAULT_TIMEOUT_MS)


def as_spec(current: dict[str, Any]) -> dict[str, Any]:
    integration = current.get("methodIntegration") or {}
    return {"method": {"authorizationType": current.get("authorizationType"),
                       "apiKeyRequired": bool(current.get("apiKeyRequired"))},
            "integration": {"type": integration.get("type"), "uri": integration.get("uri", "")}}


def words(body: dict[str, Any]) -> dict[str, str]:
    """{"auth": "api_key", "target": "service"} for one method's spec, in the config's words."""
    method, integration = body["method"], body["integration"]
    auth = ("api_key" if method.get("apiKeyRequired")
            else "iam" if method.get("authorizationType") == "AWS_IAM" else "none")
    uri = str(integration.get("uri", ""))
    target = ("lambda:" + uri.split("/functions/")[-1].removesuffix("/invocations").split(":")[6]
              if integration.get("type") == "AWS_PROXY" and "/functions/" in uri else "service")
    return {"auth": auth, "target": target}
