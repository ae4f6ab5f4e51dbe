"""The stack's configuration: `gatewayproxy.toml`, parsed, defaulted and validated.

Everything a user can get wrong is caught here, before any AWS call, with a message that names the
key. Nothing else in the project parses TOML.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gatewayproxy.arns import LAMBDA_FUNCTION_ARN, PARTITION
from gatewayproxy.errors import ConfigError

CONFIG_FILE = "gatewayproxy.toml"

# Fargate task sizes AWS accepts: cpu units -> allowed memory in MiB.
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}

HTTP_METHODS = ("ANY", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
STACK_NAME = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
STAGE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
REGION_NAME = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-\d$")  # eusc-de-east-1 too
# CreateResource answers "Resource's path part only allow a-zA-Z0-9._- and curly braces at the
# beginning and the end and an optional plus sign before the closing brace" (BadRequestException,
# quoted in github.com/claudiajs/claudia/issues/11); ':' is accepted too (aws/aws-cdk#22477). So
# no '~', which would also clash with the `~1` escape of stage method-setting keys.
PATH_PART = re.compile(r"^([A-Za-z0-9._:-]+|\{[A-Za-z_][A-Za-z0-9_]*\+?\})$")
PATH_PART_RULE = "letters, digits and . _ - : only, or one {name} or {name+}"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
AUTH_TYPES = ("none", "api_key", "iam")
LAMBDA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LAMBDA_ARN = LAMBDA_FUNCTION_ARN  # in the supported partition only
QUOTA_PERIODS = ("day", "week", "month")
VPC_LINKS = ("v1", "v2")
# The longest derived name that must fit in 32 characters is the target group's, `<stack>-tg-<port>`.
MAX_STACK_NAME = 32 - len("-tg-65535")


@dataclass(frozen=True)
class Throttle:
    """Steady requests per second and the burst API Gateway allows above it."""

    rate: float
    burst: int


@dataclass(frozen=True)
class UsagePlan:
    """What each API key may use: a rate, a burst and an optional quota per period."""

    rate: float = 10.0
    burst: int = 20
    quota: int | None = None
    quota_period: str = "month"


@dataclass(frozen=True)
class Autoscaling:
    """Target tracking on the service's average CPU, between min and max tasks."""

    min: int
    max: int
    cpu_target: float


@dataclass(frozen=True)
class Route:
    """One API path, the HTTP methods it answers, who may call it and where it goes."""

    path: str
    methods: tuple[str, ...]
    auth: str = "none"  # none | api_key | iam
    function: str | None = None  # a Lambda function ARN or name; None: the service
    throttle: Throttle | None = None
    timeout_ms: int | None = None  # the integration's timeoutInMillis; None: AWS's 29000

    @property
    def target(self) -> str:
        return f"lambda:{self.function}" if self.function else "service"

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(p for p in self.path.split("/") if p)

    @property
    def path_parameters(self) -> tuple[str, ...]:
        return tuple(p.strip("{}+") for p in self.parts if p.startswith("{"))


@dataclass(frozen=True)
class HealthCheck:
    """The target group's health check ([container.health_check]) and the service's grace.
    No `path`: TCP checks on the traffic port (what every stack had before)."""

    path: str | None = None
    matcher: str = "200-399"
    interval: int = 10
    healthy_threshold: int = 2
    unhealthy_threshold: int = 2
    grace_period: int = 60

    @property
    def protocol(self) -> str:
        return "HTTP" if self.path else "TCP"


@dataclass(frozen=True)
class Domain:
    """[api.domain]: a custom hostname for the API (REGIONAL, TLS 1.2)."""

    name: str
    certificate_arn: str | None = None  # None: gatewayproxy requests one (DNS validation)
    hosted_zone_id: str | None = None  # None: found by name among the account's public zones
    disable_default_endpoint: bool = False


@dataclass(frozen=True)
class Config:
    """A validated stack configuration; every field has its final, defaulted value."""

    name: str
    region: str | None
    image: str
    port: int = 80
    cpu: int = 256
    memory: int = 512
    desired_count: int = 1
    environment: dict[str, str] = field(default_factory=dict)
    # [container.secrets]: variable name -> Secrets Manager or SSM parameter ARN (issue 11 parses
    # it; issue 12's endpoints read it: secretsmanager/ssm endpoints only when secrets exist).
    secrets: dict[str, str] = field(default_factory=dict)
    registry_credentials: str | None = None  # a Secrets Manager secret ARN (issue 11)
    architecture: str = "x86_64"  # x86_64 | arm64
    capacity: str = "on_demand"  # on_demand | spot | mixed
    vpc_cidr: str = "10.0.0.0/16"
    availability_zones: int = 2
    stage: str = "prod"
    routes: tuple[Route, ...] = (Route("/{proxy+}", ("ANY",)),)
    throttle: Throttle | None = None
    usage_plan: UsagePlan = UsagePlan()
    access_logs: bool = True
    # None: not in the config; resources/vpc_link.generation resolves it against the state
    # (an existing stack keeps its link's generation, a new one gets "v2").
    vpc_link: str | None = None
    autoscaling: Autoscaling | None = None
    # container.max_failed_tasks: `up` stops waiting once this many tasks of a new deployment
    # have stopped (gatewayproxy/resources/deployment_watch.py).
    max_failed_tasks: int = 3
    # [api.domain]: the custom domain (gatewayproxy/resources/domain_*.py); None: none.
    domain: Domain | None = None
    # [network] nat: the private subnets' way out (issue 12): "single", "per_zone" or "none".
    nat: str = "single"
    path: Path | None = None
    health_check: HealthCheck = HealthCheck()
    allow_long_timeout: bool = False
    # [stack] state: "s3://BUCKET/KEY" or a local path (issue 14; state_store.choose decides).
    state: str | None = None

    @property
    def uses_api_keys(self) -> bool:
        return any(r.auth == "api_key" for r in self.routes)

    @property
    def container_name(self) -> str:
        return "app"


_SCHEMA: dict[str, set[str]] = {
    "stack": {"name", "region", "state"},
    "container": {"image", "port", "cpu", "memory", "desired_count", "environment", "autoscaling",
                  "health_check", "secrets", "registry_credentials", "architecture",
                  "capacity", "max_failed_tasks"},
    "network": {"vpc_cidr", "availability_zones", "nat"},
    "api": {"stage", "routes", "throttle", "usage_plan", "access_logs", "vpc_link",
            "allow_long_timeout", "domain"},
}
ROUTE_KEYS = ("auth", "lambda", "methods", "path", "throttle", "timeout_ms")


def load(path: Path) -> Config:
    """Read and validate the config file at `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"no config file at {path} (create one, or pass -c/--config PATH)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid TOML: the file is not UTF-8 text") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse(raw, path)


def parse(raw: dict[str, Any], path: Path | None = None) -> Config:
    """Validate a decoded TOML document; raise ConfigError naming the first bad key."""
    for section, value in raw.items():
        if section not in _SCHEMA:
            raise ConfigError(f"unknown section [{section}] (known: {', '.join(_SCHEMA)})")
        if not isinstance(value, dict):
            raise ConfigError(f"[{section}] must be a table")
        unknown = set(value) - _SCHEMA[section]
        if unknown:
            raise ConfigError(
                f"unknown key {section}.{sorted(unknown)[0]} "
                f"(known: {', '.join(sorted(_SCHEMA[section]))})"
            )
    stack = raw.get("stack", {})
    container = raw.get("container", {})
    network = raw.get("network", {})
    api = raw.get("api", {})

    name = _string(stack, "stack", "name", required=True)
    if len(name) > MAX_STACK_NAME or not STACK_NAME.fullmatch(name) or "--" in name:
        raise ConfigError(
            f"stack.name {name!r}: use 2 to {MAX_STACK_NAME} lowercase letters, digits and single "
            "hyphens, starting with a letter and not ending with a hyphen"
        )
    if name.startswith("internal-"):
        raise ConfigError(f"stack.name {name!r}: AWS load balancer names cannot start with 'internal-'")
    region = _string(stack, "stack", "region") or None
    if region is not None and not REGION_NAME.fullmatch(region):
        raise ConfigError(f"stack.region {region!r} is not an AWS region name (e.g. eu-west-1)")

    image = _string(container, "container", "image", required=True)
    if any(c.isspace() for c in image) or len(image) > 255:
        raise ConfigError(f"container.image {image!r} is not a valid image reference")
    port = _integer(container, "container", "port", 80, 1, 65535)
    cpu = _integer(container, "container", "cpu", 256, 256, 16384)
    memory = _integer(container, "container", "memory", 512, 512, 122880)
    if cpu not in FARGATE_SIZES:
        raise ConfigError(
            f"container.cpu {cpu} is not a Fargate size (one of {', '.join(map(str, FARGATE_SIZES))})"
        )
    allowed = FARGATE_SIZES[cpu]
    if memory not in allowed:
        choices = (
            ", ".join(map(str, allowed)) if len(allowed) <= 4
            else f"{allowed[0]} to {allowed[-1]} in steps of {allowed[1] - allowed[0]}"
        )
        raise ConfigError(f"container.memory {memory} does not fit cpu {cpu} on Fargate ({choices})")
    desired = _integer(container, "container", "desired_count", 1, 0, 100)
    environment = container.get("environment", {})
    if not isinstance(environment, dict):
        raise ConfigError("container.environment must be a table of NAME = \"value\"")
    for key, value in environment.items():
        if not ENV_NAME.fullmatch(key):
            raise ConfigError(f"container.environment: {key!r} is not a valid variable name")
        if not isinstance(value, str):
            raise ConfigError(f"container.environment.{key} must be a string")

    vpc_cidr = _string(network, "network", "vpc_cidr") or "10.0.0.0/16"
    try:
        net = ipaddress.IPv4Network(vpc_cidr, strict=True)
    except ValueError:
        raise ConfigError(f"network.vpc_cidr {vpc_cidr!r} is not an IPv4 network like 10.0.0.0/16") from None
    if not 16 <= net.prefixlen <= 24:
        raise ConfigError(f"network.vpc_cidr {vpc_cidr}: AWS accepts /16 to /24 here")
    azs = _integer(network, "network", "availability_zones", 2, 2, 6)
    if net.prefixlen + _subnet_bits(azs) > 28:
        raise ConfigError(
            f"network.vpc_cidr {vpc_cidr} is too small for {azs} public and {azs} private subnets"
        )

    stage = _string(api, "api", "stage") or "prod"
    if not STAGE_NAME.fullmatch(stage):
        raise ConfigError(f"api.stage {stage!r}: use letters, digits, '-' and '_' (up to 128)")
    routes = _routes(api.get("routes"))
    throttle = _throttle(api["throttle"], "api.throttle") if "throttle" in api else None
    usage_plan = _usage_plan(api.get("usage_plan"), any(r.auth == "api_key" for r in routes))
    access_logs = api.get("access_logs", True)
    if not isinstance(access_logs, bool):
        raise ConfigError("api.access_logs must be true or false")
    vpc_link = api.get("vpc_link")
    if vpc_link is not None and vpc_link not in VPC_LINKS:
        raise ConfigError(f"api.vpc_link {vpc_link!r} must be \"v1\" or \"v2\"")
    autoscaling = _autoscaling(container.get("autoscaling"), desired)
    cfg = Config(
        name=name, region=region, image=image, port=port, cpu=cpu, memory=memory,
        desired_count=desired, environment=dict(environment), vpc_cidr=str(net),
        availability_zones=azs, stage=stage, routes=routes, throttle=throttle,
        usage_plan=usage_plan, access_logs=access_logs, vpc_link=vpc_link,
        autoscaling=autoscaling, path=path, state=_parse_state(stack),
        domain=_parse_domain(api.get("domain")), nat=_parse_nat(network),
    )
    # The options parsed below need the config above (e.g. secrets against environment).
    cfg = _parse_container_options(container, cfg)
    cfg = _parse_health_and_timeouts(raw, cfg)
    return _parse_failure_budget(container, cfg)


def _table(raw: Any, where: str, known: set[str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"unknown key {where}.{sorted(unknown)[0]} (known: {', '.join(sorted(known))})")
    return raw


def _number(table: dict[str, Any], where: str, key: str, default: float | None,
            low: float, high: float) -> float:
    value = table.get(key, default)
    if value is None:
        raise ConfigError(f"{where}.{key} is required")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}.{key} must be a number")
    if not low <= value <= high:
        raise ConfigError(f"{where}.{key} {value} is out of range ({low:g} to {high:g})")
    return float(value)


def _throttle(raw: Any, where: str) -> Throttle:
    """Requests per second and burst: both required, so the effect is never half-guessed."""
    table = _table(raw, where, {"rate", "burst"})
    rate = _number(table, where, "rate", None, 0.0, 1_000_000.0)
    if "burst" not in table:
        raise ConfigError(f"{where}.burst is required")
    burst = _integer(table, where, "burst", 0, 0, 1_000_000)
    return Throttle(rate, burst)


def _usage_plan(raw: Any, needed: bool) -> UsagePlan:
    if raw is None:
        return UsagePlan()
    if not needed:
        raise ConfigError("api.usage_plan is set, but no route has auth = \"api_key\" "
                          "(the usage plan only applies to API key routes)")
    where = "api.usage_plan"
    table = _table(raw, where, {"rate", "burst", "quota", "quota_period"})
    rate = _number(table, where, "rate", 10.0, 0.0, 1_000_000.0)
    burst = _integer(table, where, "burst", 20, 0, 1_000_000)
    quota = table.get("quota")
    if quota is not None:
        quota = _integer(table, where, "quota", 0, 1, 2**31 - 1)
    period = table.get("quota_period", "month")
    if period not in QUOTA_PERIODS:
        raise ConfigError(f"{where}.quota_period {period!r} must be one of {', '.join(QUOTA_PERIODS)}")
    if "quota_period" in table and quota is None:
        raise ConfigError(f"{where}.quota_period needs {where}.quota")
    return UsagePlan(rate, burst, quota, period)


def _autoscaling(raw: Any, desired: int) -> Autoscaling | None:
    if raw is None:
        return None
    where = "container.autoscaling"
    table = _table(raw, where, {"min", "max", "cpu_target"})
    for key in ("min", "max"):
        if key not in table:
            raise ConfigError(f"{where}.{key} is required")
    low = _integer(table, where, "min", 1, 0, 100)
    high = _integer(table, where, "max", 1, 1, 100)
    if low > high:
        raise ConfigError(f"{where}.min {low} is above {where}.max {high}")
    target = _number(table, where, "cpu_target", 60.0, 1.0, 100.0)
    if not low <= desired <= high:
        raise ConfigError(f"container.desired_count {desired} must be within {where}.min {low} "
                          f"and max {high} (it is the starting count; autoscaling moves it)")
    return Autoscaling(low, high, target)


def subnet_cidrs(vpc_cidr: str, zones: int) -> tuple[list[str], list[str]]:
    """Split the VPC into equal subnets: the first `zones` public, the next `zones` private."""
    net = ipaddress.IPv4Network(vpc_cidr)
    subnets = list(net.subnets(prefixlen_diff=_subnet_bits(zones)))
    return [str(s) for s in subnets[:zones]], [str(s) for s in subnets[zones : 2 * zones]]


def _subnet_bits(zones: int) -> int:
    return (2 * zones - 1).bit_length()


def _routes(raw: Any) -> tuple[Route, ...]:
    if raw is None:
        return (Route("/{proxy+}", ("ANY",)),)
    if not isinstance(raw, list) or not raw:
        raise ConfigError("api.routes must be a non-empty list of [[api.routes]] tables")
    routes: list[Route] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        where = f"api.routes[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where} must be a table with path and methods")
        unknown = set(item) - set(ROUTE_KEYS)
        if unknown:
            raise ConfigError(f"unknown key {where}.{sorted(unknown)[0]} (known: {', '.join(ROUTE_KEYS)})")
        path = item.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ConfigError(f"{where}.path must be a string starting with '/'")
        parts = [p for p in path.split("/") if p]
        for j, part in enumerate(parts):
            if not PATH_PART.fullmatch(part):
                raise ConfigError(f"{where}.path {path!r}: {part!r} is not a valid path part "
                                  f"(API Gateway allows {PATH_PART_RULE})")
            if part.endswith("+}") and j != len(parts) - 1:
                raise ConfigError(f"{where}.path {path!r}: a greedy {part} must be the last part")
        names = [p.strip("{}+") for p in parts if p.startswith("{")]
        if len(names) != len(set(names)):
            raise ConfigError(f"{where}.path {path!r} repeats a path parameter")
        normal = "/" + "/".join(parts)
        if normal in seen:
            raise ConfigError(f"{where}.path {path!r} is listed twice")
        seen.add(normal)
        methods = item.get("methods", ["ANY"])
        if not isinstance(methods, list) or not methods:
            raise ConfigError(f"{where}.methods must be a non-empty list like [\"GET\"]")
        upper: list[str] = []
        for method in methods:
            if not isinstance(method, str) or method.upper() not in HTTP_METHODS:
                raise ConfigError(
                    f"{where}.methods: {method!r} is not one of {', '.join(HTTP_METHODS)}"
                )
            if method.upper() in upper:
                raise ConfigError(f"{where}.methods lists {method.upper()} twice")
            upper.append(method.upper())
        if "ANY" in upper and len(upper) > 1:
            raise ConfigError(f"{where}.methods: ANY already covers every method; list it alone")
        auth = item.get("auth", "none")
        if auth not in AUTH_TYPES:
            raise ConfigError(f"{where}.auth {auth!r} must be one of "
                              + ", ".join(f'"{a}"' for a in AUTH_TYPES))
        function = item.get("lambda")
        if function is not None and (not isinstance(function, str) or not (
                LAMBDA_NAME.fullmatch(function) or LAMBDA_ARN.fullmatch(function))):
            raise ConfigError(f"{where}.lambda {function!r} must be a function name or an ARN like "
                              f"arn:{PARTITION}:lambda:REGION:ACCOUNT:function:NAME[:ALIAS]")
        throttle = _throttle(item["throttle"], f"{where}.throttle") if "throttle" in item else None
        routes.append(Route(normal, tuple(upper), auth, function, throttle))
    _check_siblings(routes)
    return tuple(routes)


def _check_siblings(routes: list[Route]) -> None:
    """API Gateway allows one variable path part per parent: `/{a}` and `/{b}` cannot coexist."""
    variable: dict[tuple[str, ...], str] = {}
    for i, route in enumerate(routes):
        for depth, part in enumerate(route.parts):
            if not part.startswith("{"):
                continue
            parent = route.parts[:depth]
            seen = variable.setdefault(parent, part)
            if seen != part:
                raise ConfigError(
                    f"api.routes[{i}].path {route.path!r}: {part} and {seen} sit at the same place "
                    "(API Gateway allows one path parameter per level); use one name"
                )


def _string(table: dict[str, Any], section: str, key: str, required: bool = False) -> str:
    value = table.get(key)
    if value is None:
        if required:
            raise ConfigError(f"{section}.{key} is required")
        return ""
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{section}.{key} must be a non-empty string")
    return value


def _integer(table: dict[str, Any], section: str, key: str, default: int, low: int, high: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{section}.{key} must be a whole number")
    if not low <= value <= high:
        raise ConfigError(f"{section}.{key} {value} is out of range ({low} to {high})")
    return value


# -- issue 13: health checks and integration timeouts --------------------------------------------
HEALTH_CHECK_KEYS = {"path", "matcher", "interval", "healthy_threshold", "unhealthy_threshold",
                     "grace_period"}
# "You can set a timeout value starting at 50 milliseconds up to 29 seconds" (API Gateway, 2017);
# since June 2024 "You can raise the integration timeout to greater than 29 seconds for Regional
# REST APIs and private REST APIs, but this might require a reduction in your account-level
# throttle quota limit" (What's New, 2024-06-04): a Service Quotas increase, up to 300000 ms
# (terraform-provider-aws #37859). Our APIs are REGIONAL.
TIMEOUT_MS = (50, 29_000)
LONG_TIMEOUT_MS = 300_000
MATCHER = re.compile(r"^\d{3}(-\d{3})?$")


def _parse_health_and_timeouts(raw: dict[str, Any], config: Config) -> Config:
    """[container.health_check], each route's timeout_ms and api.allow_long_timeout."""
    api = raw.get("api", {})
    allow_long = api.get("allow_long_timeout", False)
    if not isinstance(allow_long, bool):
        raise ConfigError("api.allow_long_timeout must be true or false")
    routes = tuple(replace(route, timeout_ms=_timeout(item, f"api.routes[{i}]", allow_long))
                   for i, (route, item) in enumerate(zip(config.routes, api.get("routes") or [],
                                                         strict=False)))
    health = _health_check(raw.get("container", {}).get("health_check"))
    return replace(config, routes=routes or config.routes, health_check=health,
                   allow_long_timeout=allow_long)


def _timeout(item: dict[str, Any], where: str, allow_long: bool) -> int | None:
    if "timeout_ms" not in item:
        return None
    low, high = TIMEOUT_MS
    value = _integer(item, where, "timeout_ms", high, low, LONG_TIMEOUT_MS)
    if value > high and not allow_long:
        raise ConfigError(f"{where}.timeout_ms {value} is above API Gateway's {high} ms: longer "
                          "needs a quota increase (Service Quotas: \"Maximum integration timeout "
                          "in milliseconds\"), then set api.allow_long_timeout = true")
    return value


def _health_check(raw: Any) -> HealthCheck:
    if raw is None:
        return HealthCheck()
    where = "container.health_check"
    table = _table(raw, where, HEALTH_CHECK_KEYS)
    path = table.get("path")
    if path is not None and (not isinstance(path, str) or not path.startswith("/")
                             or len(path) > 1024 or any(c.isspace() for c in path)):
        raise ConfigError(f"{where}.path must be a URL path starting with '/' (up to 1024 "
                          "characters, no spaces)")
    if "matcher" in table and path is None:
        raise ConfigError(f"{where}.matcher needs {where}.path: TCP health checks have no "
                          "HTTP status codes")
    matcher = table.get("matcher", "200-399")
    _check_matcher(matcher, f"{where}.matcher")
    # ModifyTargetGroup: HealthCheckIntervalSeconds 5 to 300; the threshold counts 2 to 10.
    interval = _integer(table, where, "interval", 10, 5, 300)
    healthy = _integer(table, where, "healthy_threshold", 2, 2, 10)
    unhealthy = _integer(table, where, "unhealthy_threshold", 2, 2, 10)
    # CreateService healthCheckGracePeriodSeconds: 0 to 2147483647.
    grace = _integer(table, where, "grace_period", 60, 0, 2_147_483_647)
    return HealthCheck(path, matcher, interval, healthy, unhealthy, grace)


def _check_matcher(matcher: Any, where: str) -> None:
    """"200", "200,202" or "200-299"; a Network Load Balancer's HTTP checks take codes from 200
    to 599 (ELBv2 Matcher.HttpCode)."""
    rule = "codes like \"200\", \"200,204\" or \"200-399\", each from 200 to 599"
    if not isinstance(matcher, str) or not matcher:
        raise ConfigError(f"{where} must be a string of {rule}")
    for part in matcher.split(","):
        if not MATCHER.fullmatch(part):
            raise ConfigError(f"{where} {matcher!r}: use {rule}")
        low, _, high = part.partition("-")
        codes = (int(low), int(high or low))
        if not all(200 <= c <= 599 for c in codes) or codes[0] > codes[1]:
            raise ConfigError(f"{where} {matcher!r}: use {rule}")


# -- [container.secrets], registry_credentials, architecture, capacity (issue 11) -------------
ARCHITECTURES = ("x86_64", "arm64")
CAPACITIES = ("on_demand", "spot", "mixed")
_REGION = r"[a-z]{2,4}(?:-[a-z]+)+-\d"
# A Secrets Manager secret's ARN; ECS also takes `:json-key:version-stage:version-id` after it
# (any of the three may be empty), "Pass Secrets Manager secrets through Amazon ECS environment
# variables", docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html
SECRET_ARN = re.compile(rf"^(arn:{PARTITION}:secretsmanager:({_REGION}):\d{{12}}:secret:"
                        r"[A-Za-z0-9/_+=.@-]{1,512})((?::[^:\s]*){1,3})?$")
# An SSM parameter's ARN: ECS takes a bare name only for a parameter of the task's region, and the
# IAM policy needs the ARN anyway, so only ARNs ("Pass Systems Manager parameters through Amazon
# ECS environment variables"). A path `/a/b` has the ARN `parameter/a/b`.
PARAMETER_ARN = re.compile(rf"^arn:{PARTITION}:ssm:({_REGION}):\d{{12}}:parameter/"
                           r"[A-Za-z0-9_.\-/]{1,2048}$")
SECRET_RULE = (f"arn:{PARTITION}:secretsmanager:REGION:ACCOUNT:secret:NAME[:json-key:version-stage:"
               f"version-id] or arn:{PARTITION}:ssm:REGION:ACCOUNT:parameter/NAME")


def secret_region(arn: str) -> str:
    """The region an accepted secret or parameter ARN lives in."""
    return arn.split(":")[3]


def secret_base_arn(arn: str) -> str:
    """The ARN the execution role must be allowed to read: a Secrets Manager reference's secret
    without ECS's json-key / version suffix; a parameter's ARN as it is."""
    found = SECRET_ARN.fullmatch(arn)
    return found.group(1) if found else arn


def _parse_container_options(container: dict[str, Any], cfg: Config) -> Config:
    """[container.secrets], registry_credentials, architecture and capacity: checked here, but
    the regions of the ARNs against the stack's only in the task_definition step's check (the
    region may come from the profile)."""
    secrets = _secrets(container.get("secrets", {}), cfg.environment)
    credentials = _registry_credentials(container.get("registry_credentials"))
    architecture = _choice(container, "architecture", ARCHITECTURES)
    capacity = _choice(container, "capacity", CAPACITIES)
    if architecture == "arm64" and capacity != "on_demand":
        # "Linux tasks with the ARM64 architecture don't support the Fargate Spot capacity
        # provider" (Amazon ECS, "AWS Fargate capacity providers").
        raise ConfigError(f'container.architecture = "arm64" cannot run with container.capacity '
                          f'= "{capacity}": Fargate Spot runs only x86_64 tasks (use capacity = '
                          '"on_demand" or architecture = "x86_64")')
    return replace(cfg, secrets=secrets, registry_credentials=credentials,
                   architecture=architecture, capacity=capacity)


def _registry_credentials(raw: Any) -> str | None:
    """A whole secret (no json-key or version: ECS's repositoryCredentials takes the secret)."""
    if raw is None:
        return None
    found = SECRET_ARN.fullmatch(raw) if isinstance(raw, str) else None
    if found is None or found.group(3):
        raise ConfigError(f"container.registry_credentials {raw!r} must be a Secrets Manager "
                          f"secret ARN (arn:{PARTITION}:secretsmanager:REGION:ACCOUNT:secret:NAME) "
                          "holding the registry's username and password")
    return raw


def _secrets(raw: Any, environment: dict[str, str]) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise ConfigError('container.secrets must be a table of NAME = "ARN"')
    for key, arn in raw.items():
        where = f"container.secrets.{key}"
        if not ENV_NAME.fullmatch(key):
            raise ConfigError(f"container.secrets: {key!r} is not a valid variable name")
        if key in environment:
            raise ConfigError(f"{where} is also in container.environment: a variable is either "
                              "plain or secret, not both")
        if not isinstance(arn, str) or not (SECRET_ARN.fullmatch(arn)
                                            or PARAMETER_ARN.fullmatch(arn)):
            raise ConfigError(f"{where} {arn!r} is not a secret ARN ({SECRET_RULE})")
    return dict(raw)


def _choice(container: dict[str, Any], key: str, choices: tuple[str, ...]) -> str:
    value = container.get(key, choices[0])
    if value not in choices:
        raise ConfigError(f"container.{key} {value!r} must be one of "
                          + ", ".join(f'"{c}"' for c in choices))
    return str(value)


def _parse_state(stack: dict[str, Any]) -> str | None:
    """`[stack] state`: an s3://BUCKET/KEY address (checked here, before any call) or a path."""
    from gatewayproxy.state_store import is_s3, parse_s3_url

    value = _string(stack, "stack", "state") or None
    if value is not None and is_s3(value):
        parse_s3_url(value, "stack.state")
    elif value is not None and value.startswith("s3:"):
        raise ConfigError(f"stack.state {value!r} is not an s3://BUCKET/KEY address")
    return value
def _parse_failure_budget(container: dict[str, Any], config: Config) -> Config:
    """container.max_failed_tasks: how many stopped tasks of a new deployment `up` takes before
    it stops waiting (ECS's circuit breaker needs at least 3, often many more)."""
    budget = _integer(container, "container", "max_failed_tasks", 3, 1, 50)
    return replace(config, max_failed_tasks=budget)


# -- [api.domain] ----------------------------------------------------------------------------
DOMAIN_KEYS = ("certificate_arn", "disable_default_endpoint", "hosted_zone_id", "name")
HOSTNAME_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
# ACM: arn:PARTITION:acm:REGION:ACCOUNT:certificate/ID (the ID is a UUID on AWS).
CERTIFICATE_ARN = re.compile(
    rf"^arn:{PARTITION}:acm:(?P<region>[a-z]{{2,4}}(-[a-z]+)+-\d):\d{{12}}:certificate/"
    r"[A-Za-z0-9-]{1,128}$")
HOSTED_ZONE_ID = re.compile(r"^Z[A-Z0-9]+$")


def _parse_domain(raw: Any) -> Domain | None:
    """[api.domain], validated: a hostname, an ACM certificate ARN, a hosted zone id."""
    if raw is None:
        return None
    table = _table(raw, "api.domain", set(DOMAIN_KEYS))
    name = _string(table, "api.domain", "name", required=True)
    hostname = _hostname(name)
    certificate = _string(table, "api.domain", "certificate_arn") or None
    if certificate is not None and not CERTIFICATE_ARN.fullmatch(certificate):
        raise ConfigError(f"api.domain.certificate_arn {certificate!r} is not an ACM certificate "
                          f"ARN (arn:{PARTITION}:acm:REGION:ACCOUNT:certificate/ID)")
    zone = _string(table, "api.domain", "hosted_zone_id") or None
    if zone is not None:
        zone = zone.removeprefix("/hostedzone/")
        if not HOSTED_ZONE_ID.fullmatch(zone):
            raise ConfigError(f"api.domain.hosted_zone_id {zone!r} is not a Route 53 hosted zone "
                              "id (Z followed by capital letters and digits)")
    disable = table.get("disable_default_endpoint", False)
    if not isinstance(disable, bool):
        raise ConfigError("api.domain.disable_default_endpoint must be true or false")
    return Domain(hostname, certificate, zone, disable)


def _hostname(name: str) -> str:
    """Lowercase, no trailing dot, two labels or more, each 1-63 letters, digits or inner
    hyphens, 253 characters in all (RFC 1123); a wildcard is not a domain API Gateway serves
    a base path mapping on here."""
    hostname = name.lower()
    labels = hostname.split(".")
    if (len(hostname) > 253 or len(labels) < 2 or labels[-1].isdigit()
            or not all(HOSTNAME_LABEL.fullmatch(label) for label in labels)):
        why = " (no trailing dot)" if name.endswith(".") else ""
        raise ConfigError(f"api.domain.name {name!r} is not a hostname{why}: use labels of "
                          "letters, digits and inner hyphens separated by dots, like "
                          "api.example.com")
    return hostname


NAT_MODES = ("single", "per_zone", "none")


def _parse_nat(network: dict[str, Any]) -> str:
    """`network.nat`: one NAT gateway (the default), one per zone, or none (VPC endpoints)."""
    mode = network.get("nat", "single")
    if mode not in NAT_MODES:
        raise ConfigError(f"network.nat {mode!r} must be one of "
                          + ", ".join(f'"{m}"' for m in NAT_MODES))
    return str(mode)
