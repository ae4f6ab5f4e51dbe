"""gatewayproxy.toml: defaults, the sample config, every rejected value, load() and subnet_cidrs."""

from __future__ import annotations

import copy
import ipaddress
from pathlib import Path
from typing import Any

import pytest

from gatewayproxy.config import (
    CONFIG_FILE,
    MAX_STACK_NAME,
    Config,
    Route,
    load,
    parse,
    subnet_cidrs,
)
from gatewayproxy.errors import ConfigError, GatewayProxyError

BASE: dict[str, Any] = {"stack": {"name": "quizapi"}, "container": {"image": "nginx:1.27"}}


def raw_with(section: str, key: str, value: Any) -> dict[str, Any]:
    """The minimal valid document with one key set (or replaced)."""
    raw = copy.deepcopy(BASE)
    raw.setdefault(section, {})[key] = value
    return raw


def sized(cpu: Any, memory: Any) -> dict[str, Any]:
    raw = copy.deepcopy(BASE)
    raw["container"].update(cpu=cpu, memory=memory)
    return raw


def with_routes(*routes: Any) -> dict[str, Any]:
    return raw_with("api", "routes", list(routes))


def rejected(raw: dict[str, Any], key: str) -> str:
    """parse() raises ConfigError and the message names `key`; return the message."""
    with pytest.raises(ConfigError) as info:
        parse(raw)
    message = str(info.value)
    assert key in message, f"{key!r} not named in {message!r}"
    return message


# --- defaults and the sample --------------------------------------------------------------------


def test_config_file_name() -> None:
    assert CONFIG_FILE == "gatewayproxy.toml"


def test_minimal_config_gets_every_default() -> None:
    cfg = parse(copy.deepcopy(BASE))
    assert cfg == Config(name="quizapi", region=None, image="nginx:1.27")
    assert cfg.port == 80
    assert cfg.cpu == 256
    assert cfg.memory == 512
    assert cfg.desired_count == 1
    assert cfg.environment == {}
    assert cfg.vpc_cidr == "10.0.0.0/16"
    assert cfg.availability_zones == 2
    assert cfg.stage == "prod"
    assert cfg.routes == (Route("/{proxy+}", ("ANY",)),)
    assert cfg.path is None
    assert cfg.container_name == "app"


def test_default_route_is_a_greedy_proxy() -> None:
    (route,) = parse(copy.deepcopy(BASE)).routes
    assert route.parts == ("{proxy+}",)
    assert route.path_parameters == ("proxy",)


def test_empty_sections_get_defaults() -> None:
    raw = copy.deepcopy(BASE)
    raw["network"] = {}
    raw["api"] = {}
    assert parse(raw) == parse(copy.deepcopy(BASE))


def test_sample_config_parses_to_expected_values(config_file: Path) -> None:
    cfg = load(config_file)
    assert cfg.name == "quizapi"
    assert cfg.region == "eu-west-1"
    assert cfg.image == "public.ecr.aws/nginx/nginx:1.27"
    assert cfg.port == 8080
    assert (cfg.cpu, cfg.memory) == (256, 512)
    assert cfg.desired_count == 2
    assert cfg.environment == {"GREETING": "hello"}
    assert cfg.vpc_cidr == "10.0.0.0/16"
    assert cfg.availability_zones == 2
    assert cfg.stage == "live"
    assert cfg.routes == (
        Route("/answers", ("GET", "POST")),
        Route("/teams/{team}", ("GET",)),
    )
    assert cfg.routes[0].path_parameters == ()
    assert cfg.routes[1].parts == ("teams", "{team}")
    assert cfg.routes[1].path_parameters == ("team",)
    assert cfg.path == config_file


def test_full_config_with_every_key() -> None:
    raw = {
        "stack": {"name": "shop-api-2", "region": "us-gov-west-1"},
        "container": {"image": "ghcr.io/acme/shop@sha256:abc", "port": 65535, "cpu": 2048,
                      "memory": 16384, "desired_count": 0,
                      "environment": {"_PRIVATE": "", "LOG_LEVEL": "debug"}},
        "network": {"vpc_cidr": "172.16.0.0/20", "availability_zones": 3},
        "api": {"stage": "v1_beta-2", "routes": [
            {"path": "/"},
            {"path": "/orders/{order}/items/{item}", "methods": ["get", "Delete"]},
            {"path": "/files/{key+}", "methods": ["ANY"]},
        ]},
    }
    cfg = parse(raw, Path("x.toml"))
    assert cfg == Config(
        name="shop-api-2", region="us-gov-west-1", image="ghcr.io/acme/shop@sha256:abc",
        port=65535, cpu=2048, memory=16384, desired_count=0,
        environment={"_PRIVATE": "", "LOG_LEVEL": "debug"}, vpc_cidr="172.16.0.0/20",
        availability_zones=3, stage="v1_beta-2",
        routes=(Route("/", ("ANY",)),
                Route("/orders/{order}/items/{item}", ("GET", "DELETE")),
                Route("/files/{key+}", ("ANY",))),
        path=Path("x.toml"),
    )
    assert cfg.routes[0].parts == ()
    assert cfg.routes[1].path_parameters == ("order", "item")
    assert cfg.routes[2].path_parameters == ("key",)


def test_environment_is_copied() -> None:
    raw = raw_with("container", "environment", {"A": "1"})
    cfg = parse(raw)
    raw["container"]["environment"]["B"] = "2"
    assert cfg.environment == {"A": "1"}


def test_config_error_is_a_gatewayproxy_error() -> None:
    assert issubclass(ConfigError, GatewayProxyError)


# --- structure: sections and keys ---------------------------------------------------------------


@pytest.mark.parametrize("section", ["stacks", "service", "tags", "routes"])
def test_unknown_section_is_rejected(section: str) -> None:
    raw = copy.deepcopy(BASE)
    raw[section] = {}
    assert "unknown section" in rejected(raw, f"[{section}]")


@pytest.mark.parametrize(("section", "key"), [
    ("stack", "nmae"), ("stack", "image"), ("container", "memroy"), ("container", "name"),
    ("network", "subnets"), ("api", "route"), ("api", "name"),
])
def test_unknown_key_is_rejected(section: str, key: str) -> None:
    assert "unknown key" in rejected(raw_with(section, key, "x"), f"{section}.{key}")


@pytest.mark.parametrize("section", ["stack", "container", "network", "api"])
@pytest.mark.parametrize("value", ["x", 1, ["a"]])
def test_section_must_be_a_table(section: str, value: Any) -> None:
    raw = copy.deepcopy(BASE)
    raw[section] = value
    rejected(raw, section)


def test_empty_document_needs_a_stack_name() -> None:
    assert "required" in rejected({}, "stack.name")


# --- [stack] ------------------------------------------------------------------------------------


def test_stack_name_limit_leaves_room_for_the_target_group_name() -> None:
    assert MAX_STACK_NAME == 23
    assert len("a" * MAX_STACK_NAME + "-tg-65535") == 32


def test_stack_name_at_exact_limit_is_accepted() -> None:
    name = "a" * (MAX_STACK_NAME - 2) + "-1"
    assert len(name) == MAX_STACK_NAME
    assert parse(raw_with("stack", "name", name)).name == name


def test_stack_name_one_over_limit_is_rejected() -> None:
    rejected(raw_with("stack", "name", "a" * (MAX_STACK_NAME + 1)), "stack.name")


@pytest.mark.parametrize("name", ["ab", "a1", "my-api-2", "internal", "internalx", "api-internal"])
def test_valid_stack_names(name: str) -> None:
    assert parse(raw_with("stack", "name", name)).name == name


@pytest.mark.parametrize("name", [
    pytest.param("QuizApi", id="uppercase"),
    pytest.param("quizApi", id="one-uppercase"),
    pytest.param("quiz-", id="trailing-hyphen"),
    pytest.param("-quiz", id="leading-hyphen"),
    pytest.param("quiz--api", id="double-hyphen"),
    pytest.param("internal-api", id="internal-prefix"),
    pytest.param("quiz_api", id="underscore"),
    pytest.param("quiz.api", id="dot"),
    pytest.param("quiz api", id="space"),
    pytest.param("1quiz", id="leading-digit"),
    pytest.param("a", id="single-char"),
    pytest.param("quizäpi", id="non-ascii"),
])
def test_invalid_stack_names(name: str) -> None:
    rejected(raw_with("stack", "name", name), "stack.name")


def test_internal_prefix_message_explains_why() -> None:
    assert "internal-" in rejected(raw_with("stack", "name", "internal-api"), "stack.name")


@pytest.mark.parametrize("value", ["", 5, True, ["quiz"], {"a": "b"}])
def test_stack_name_must_be_a_non_empty_string(value: Any) -> None:
    rejected(raw_with("stack", "name", value), "stack.name")


def test_stack_name_missing() -> None:
    raw = copy.deepcopy(BASE)
    raw["stack"] = {"region": "eu-west-1"}
    assert "required" in rejected(raw, "stack.name")


@pytest.mark.parametrize("region", [
    "eu-west-1", "us-east-2", "ap-southeast-2", "us-gov-west-1", "cn-north-1", "il-central-1",
])
def test_valid_regions(region: str) -> None:
    assert parse(raw_with("stack", "region", region)).region == region


@pytest.mark.parametrize("region", [
    "EU-WEST-1", "eu-west", "euwest1", "eu_west_1", "eu-west-1a", "eu-west-12", "e-west-1",
    "eu-west-1 ", "west-1", "eu--west-1",
])
def test_invalid_region(region: str) -> None:
    rejected(raw_with("stack", "region", region), "stack.region")


@pytest.mark.parametrize("value", [1, True, ["eu-west-1"]])
def test_region_must_be_a_string(value: Any) -> None:
    rejected(raw_with("stack", "region", value), "stack.region")


# --- [container] --------------------------------------------------------------------------------


def test_image_missing() -> None:
    raw = copy.deepcopy(BASE)
    del raw["container"]["image"]
    assert "required" in rejected(raw, "container.image")


def test_container_section_missing() -> None:
    raw = copy.deepcopy(BASE)
    del raw["container"]
    rejected(raw, "container.image")


@pytest.mark.parametrize("image", ["", 1, True, ["nginx"], "nginx latest", "nginx\t", "a" * 256])
def test_invalid_image(image: Any) -> None:
    rejected(raw_with("container", "image", image), "container.image")


def test_image_at_255_chars_is_accepted() -> None:
    assert parse(raw_with("container", "image", "a" * 255)).image == "a" * 255


@pytest.mark.parametrize("port", [1, 80, 8080, 65535])
def test_valid_ports(port: int) -> None:
    assert parse(raw_with("container", "port", port)).port == port


@pytest.mark.parametrize(("key", "value"), [
    ("port", 0), ("port", -1), ("port", 65536),
    ("desired_count", -1),
    ("cpu", 128), ("cpu", 32768),
    ("memory", 256), ("memory", 131072),
])
def test_integer_out_of_range(key: str, value: int) -> None:
    rejected(raw_with("container", key, value), f"container.{key}")


@pytest.mark.parametrize("key", ["port", "cpu", "memory", "desired_count"])
@pytest.mark.parametrize("value", [True, False, 80.0, "80", [80], {"n": 80}])
def test_container_integers_reject_other_types(key: str, value: Any) -> None:
    assert "whole number" in rejected(raw_with("container", key, value), f"container.{key}")


def test_desired_count_zero_is_allowed() -> None:
    assert parse(raw_with("container", "desired_count", 0)).desired_count == 0


# Fargate: cpu -> (smallest, largest, step) in MiB, written out from AWS's table, not from the code.
FARGATE_SPEC = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}


@pytest.mark.parametrize(("cpu", "memory"), [
    (256, 512), (256, 1024), (256, 2048),
    (512, 1024), (512, 3072), (512, 4096),
    (1024, 2048), (1024, 5120), (1024, 8192),
    (2048, 4096), (2048, 9216), (2048, 16384),
    (4096, 8192), (4096, 20480), (4096, 30720),
    (8192, 16384), (8192, 20480), (8192, 61440),
    (16384, 32768), (16384, 40960), (16384, 122880),
])
def test_valid_fargate_sizes(cpu: int, memory: int) -> None:
    cfg = parse(sized(cpu, memory))
    assert (cfg.cpu, cfg.memory) == (cpu, memory)


@pytest.mark.parametrize(("cpu", "memory"), [
    (256, 1536), (256, 3072), (256, 4096),
    (512, 512), (512, 1536), (512, 5120),
    (1024, 1024), (1024, 1536), (1024, 9216),
    (2048, 3072), (2048, 4608), (2048, 17408),
    (4096, 7168), (4096, 8704), (4096, 31744),
    (8192, 12288), (8192, 18432), (8192, 65536),
    (16384, 30720), (16384, 36864), (16384, 131072),
])
def test_invalid_fargate_pairs_name_memory(cpu: int, memory: int) -> None:
    rejected(sized(cpu, memory), "container.memory")


def test_default_memory_does_not_fit_bigger_cpu() -> None:
    raw = raw_with("container", "cpu", 1024)
    assert "cpu 1024" in rejected(raw, "container.memory")


@pytest.mark.parametrize("cpu", [300, 768, 1536, 3072, 12288])
def test_cpu_that_is_no_fargate_size(cpu: int) -> None:
    rejected(sized(cpu, 2048), "container.cpu")


def test_fargate_table_matches_aws_exactly() -> None:
    """Every cpu and every memory in 512 MiB steps: accepted exactly when AWS accepts it."""
    for cpu, allowed in FARGATE_SPEC.items():
        for memory in range(512, 122880 + 1, 512):
            if memory in allowed:
                assert parse(sized(cpu, memory)).memory == memory
            else:
                with pytest.raises(ConfigError, match=r"container\.memory"):
                    parse(sized(cpu, memory))


@pytest.mark.parametrize("env", [{"A": "1"}, {"_a": "x", "B_2": ""}, {"PATH": "/usr/bin:/bin"}])
def test_valid_environment(env: dict[str, str]) -> None:
    assert parse(raw_with("container", "environment", env)).environment == env


@pytest.mark.parametrize("name", ["1X", "MY-VAR", "MY VAR", "", "A.B", "Ä"])
def test_environment_bad_variable_name(name: str) -> None:
    message = rejected(raw_with("container", "environment", {name: "x"}), "container.environment")
    assert repr(name) in message


@pytest.mark.parametrize("value", [1, True, 1.5, ["a"], {"a": "b"}])
def test_environment_value_must_be_a_string(value: Any) -> None:
    rejected(raw_with("container", "environment", {"GOOD": "x", "BAD": value}),
             "container.environment.BAD")


@pytest.mark.parametrize("value", ["A=1", ["A=1"], 1])
def test_environment_must_be_a_table(value: Any) -> None:
    rejected(raw_with("container", "environment", value), "container.environment")


# --- [network] ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("cidr", "normal"), [
    ("10.0.0.0/16", "10.0.0.0/16"),
    ("192.168.1.0/24", "192.168.1.0/24"),
    ("172.16.0.0/20", "172.16.0.0/20"),
    ("10.1.0.0/255.255.0.0", "10.1.0.0/16"),
])
def test_valid_vpc_cidr(cidr: str, normal: str) -> None:
    assert parse(raw_with("network", "vpc_cidr", cidr)).vpc_cidr == normal


@pytest.mark.parametrize("cidr", [
    pytest.param("not-a-cidr", id="not-a-network"),
    pytest.param("10.0.0.0/8", id="slash-8"),
    pytest.param("10.0.0.0/15", id="slash-15"),
    pytest.param("10.0.0.0/25", id="slash-25"),
    pytest.param("10.0.0.1/16", id="host-bits-set"),
    pytest.param("10.0.0.0", id="no-prefix"),
    pytest.param("10.0.0.0/33", id="prefix-too-long"),
    pytest.param("300.0.0.0/16", id="bad-octet"),
    pytest.param("fd00::/16", id="ipv6"),
])
def test_invalid_vpc_cidr(cidr: str) -> None:
    rejected(raw_with("network", "vpc_cidr", cidr), "network.vpc_cidr")


@pytest.mark.parametrize("value", [16, True, ["10.0.0.0/16"]])
def test_vpc_cidr_must_be_a_string(value: Any) -> None:
    rejected(raw_with("network", "vpc_cidr", value), "network.vpc_cidr")


@pytest.mark.parametrize("zones", [2, 3, 4, 5, 6])
def test_valid_availability_zones_even_in_the_smallest_vpc(zones: int) -> None:
    raw = raw_with("network", "availability_zones", zones)
    raw["network"]["vpc_cidr"] = "10.0.0.0/24"
    assert parse(raw).availability_zones == zones


@pytest.mark.parametrize("zones", [-1, 0, 1, 7, 100])
def test_availability_zones_out_of_range(zones: int) -> None:
    rejected(raw_with("network", "availability_zones", zones), "network.availability_zones")


@pytest.mark.parametrize("value", [True, 2.0, "2"])
def test_availability_zones_wrong_type(value: Any) -> None:
    rejected(raw_with("network", "availability_zones", value), "network.availability_zones")


# --- [api] --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["prod", "v1", "V1_beta-2", "_", "x" * 128])
def test_valid_stage(stage: str) -> None:
    assert parse(raw_with("api", "stage", stage)).stage == stage


@pytest.mark.parametrize("stage", [
    pytest.param("v1.0", id="dot"),
    pytest.param("my stage", id="space"),
    pytest.param("prod/1", id="slash"),
    pytest.param("prød", id="non-ascii"),
    pytest.param("x" * 129, id="too-long"),
    pytest.param(1, id="int"),
    pytest.param(True, id="bool"),
])
def test_invalid_stage(stage: Any) -> None:
    rejected(raw_with("api", "stage", stage), "api.stage")


def test_route_methods_are_upper_cased_and_default_to_any() -> None:
    cfg = parse(with_routes({"path": "/a", "methods": ["get", "Post"]}, {"path": "/b"}))
    assert cfg.routes == (Route("/a", ("GET", "POST")), Route("/b", ("ANY",)))


@pytest.mark.parametrize("method", ["ANY", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST",
                                    "PUT"])
def test_every_http_method_is_accepted(method: str) -> None:
    assert parse(with_routes({"path": "/a", "methods": [method]})).routes[0].methods == (method,)


@pytest.mark.parametrize(("path", "normal"), [
    ("/", "/"),
    ("/answers/", "/answers"),
    ("/a/b/c", "/a/b/c"),
    ("/v1.0/items_x/a-b", "/v1.0/items_x/a-b"),
    ("/events:batch", "/events:batch"),
    ("/teams/{team}/members/{member_id}", "/teams/{team}/members/{member_id}"),
    ("/files/{proxy+}", "/files/{proxy+}"),
])
def test_valid_route_paths(path: str, normal: str) -> None:
    assert parse(with_routes({"path": path})).routes[0].path == normal


@pytest.mark.parametrize(("path", "params"), [
    ("/answers", ()),
    ("/teams/{team}", ("team",)),
    ("/teams/{team}/members/{member_id}", ("team", "member_id")),
    ("/files/{key+}", ("key",)),
    ("/{a}/b/{c+}", ("a", "c")),
])
def test_path_parameters(path: str, params: tuple[str, ...]) -> None:
    assert parse(with_routes({"path": path})).routes[0].path_parameters == params


GOOD_ROUTE = {"path": "/ok", "methods": ["GET"]}


@pytest.mark.parametrize(("route", "key"), [
    pytest.param({"path": "answers"}, "api.routes[1].path", id="no-leading-slash"),
    pytest.param({"path": ""}, "api.routes[1].path", id="empty-path"),
    pytest.param({"path": 5}, "api.routes[1].path", id="path-not-string"),
    pytest.param({"methods": ["GET"]}, "api.routes[1].path", id="path-missing"),
    pytest.param({"path": "/a b"}, "api.routes[1].path", id="space"),
    pytest.param({"path": "/a?b=1"}, "api.routes[1].path", id="query"),
    pytest.param({"path": "/a#b"}, "api.routes[1].path", id="fragment"),
    pytest.param({"path": "/a%20b"}, "api.routes[1].path", id="percent"),
    pytest.param({"path": "/a~b"}, "api.routes[1].path", id="tilde"),
    pytest.param({"path": "/~1x"}, "api.routes[1].path", id="tilde-escape"),
    pytest.param({"path": "/$metadata"}, "api.routes[1].path", id="dollar"),
    pytest.param({"path": "/{id"}, "api.routes[1].path", id="unclosed-brace"),
    pytest.param({"path": "/id}"}, "api.routes[1].path", id="stray-brace"),
    pytest.param({"path": "/a{id}"}, "api.routes[1].path", id="brace-mid-part"),
    pytest.param({"path": "/{}"}, "api.routes[1].path", id="empty-parameter"),
    pytest.param({"path": "/{1id}"}, "api.routes[1].path", id="parameter-leading-digit"),
    pytest.param({"path": "/{my-id}"}, "api.routes[1].path", id="parameter-hyphen"),
    pytest.param({"path": "/{+}"}, "api.routes[1].path", id="nameless-greedy"),
    pytest.param({"path": "/{proxy+}/more"}, "api.routes[1].path", id="greedy-not-last"),
    pytest.param({"path": "/{a+}/{b}"}, "api.routes[1].path", id="greedy-before-param"),
    pytest.param({"path": "/{id}/x/{id}"}, "api.routes[1].path", id="repeated-parameter"),
    pytest.param({"path": "/{id}/{id+}"}, "api.routes[1].path", id="repeated-as-greedy"),
    pytest.param({"path": "/ok"}, "api.routes[1].path", id="duplicate-path"),
    pytest.param({"path": "/ok/"}, "api.routes[1].path", id="duplicate-trailing-slash"),
    pytest.param({"path": "//ok"}, "api.routes[1].path", id="duplicate-double-slash"),
    pytest.param({"path": "/x", "methods": ["FETCH"]}, "api.routes[1].methods", id="not-http"),
    pytest.param({"path": "/x", "methods": ["CONNECT"]}, "api.routes[1].methods",
                 id="connect"),
    pytest.param({"path": "/x", "methods": [""]}, "api.routes[1].methods", id="empty-method"),
    pytest.param({"path": "/x", "methods": [1]}, "api.routes[1].methods", id="method-int"),
    pytest.param({"path": "/x", "methods": ["GET", "GET"]}, "api.routes[1].methods",
                 id="duplicate-method"),
    pytest.param({"path": "/x", "methods": ["GET", "get"]}, "api.routes[1].methods",
                 id="duplicate-method-case"),
    pytest.param({"path": "/x", "methods": ["ANY", "GET"]}, "api.routes[1].methods",
                 id="any-with-another"),
    pytest.param({"path": "/x", "methods": ["POST", "any"]}, "api.routes[1].methods",
                 id="another-with-any"),
    pytest.param({"path": "/x", "methods": []}, "api.routes[1].methods", id="empty-methods"),
    pytest.param({"path": "/x", "methods": "GET"}, "api.routes[1].methods",
                 id="methods-not-list"),
    pytest.param({"path": "/x", "method": ["GET"]}, "api.routes[1].method", id="unknown-key"),
    pytest.param("/x", "api.routes[1]", id="route-not-table"),
])
def test_invalid_routes_name_the_route(route: Any, key: str) -> None:
    rejected(with_routes(GOOD_ROUTE, route), key)


def test_duplicate_method_message_names_the_method() -> None:
    message = rejected(with_routes({"path": "/x", "methods": ["get", "GET"]}),
                       "api.routes[0].methods")
    assert "GET" in message


def test_greedy_parameter_alone_is_fine_after_literal_siblings() -> None:
    cfg = parse(with_routes({"path": "/a"}, {"path": "/a/{proxy+}"}, {"path": "/b/{id}/c"}))
    assert [r.path for r in cfg.routes] == ["/a", "/a/{proxy+}", "/b/{id}/c"]


def test_a_tilde_in_a_path_names_the_route_and_the_rule() -> None:
    """CreateResource refuses '~' (it would also break the `~1` escape of method-setting keys)."""
    message = rejected(with_routes(GOOD_ROUTE, {"path": "/v1/a~b"}), "api.routes[1].path")
    assert "'a~b' is not a valid path part" in message
    assert "letters, digits and . _ - : only" in message


@pytest.mark.parametrize("routes", [
    pytest.param([{"path": "/teams/{team}"}, {"path": "/teams/{id}/members"}], id="two-names"),
    pytest.param([{"path": "/{proxy+}"}, {"path": "/{id}"}], id="greedy-and-plain"),
])
def test_sibling_path_parameters_with_different_names_are_rejected(routes: list[Any]) -> None:
    """API Gateway allows one variable path part per parent resource ("A sibling ({team}) of this
    resource already has a variable path part -- only one is allowed"): config must catch it
    before any AWS call, not fail at the rest_api step after the VPC, NLB and service exist."""
    rejected(with_routes(*routes), "api.routes[1].path")


def test_same_parameter_shared_by_sibling_routes_is_fine() -> None:
    cfg = parse(with_routes({"path": "/teams/{team}"}, {"path": "/teams/{team}/members"}))
    assert [r.path_parameters for r in cfg.routes] == [("team",), ("team",)]


@pytest.mark.parametrize("value", [[], "/x", {"path": "/x"}, 1])
def test_routes_must_be_a_non_empty_list(value: Any) -> None:
    rejected(raw_with("api", "routes", value), "api.routes")


@pytest.mark.parametrize(("raw", "key"), [
    pytest.param(raw_with("stack", "name", "quizapi\n"), "stack.name", id="stack-name"),
    pytest.param(raw_with("stack", "region", "eu-west-1\n"), "stack.region", id="region"),
    pytest.param(raw_with("api", "stage", "prod\n"), "api.stage", id="stage"),
    pytest.param(raw_with("container", "environment", {"A\n": "x"}), "container.environment",
                 id="environment-name"),
    pytest.param(with_routes({"path": "/a\n"}), "api.routes[0].path", id="route-path"),
    pytest.param(with_routes({"path": "/{id}\n"}), "api.routes[0].path", id="route-parameter"),
])
def test_trailing_newline_is_not_ignored(raw: dict[str, Any], key: str) -> None:
    """TOML's "\n" escape puts a newline in a string; a regex `$` must not let it through."""
    rejected(raw, key)


# --- load() -------------------------------------------------------------------------------------


def test_load_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope" / CONFIG_FILE
    with pytest.raises(ConfigError, match="no config file") as info:
        load(path)
    assert str(path) in str(info.value)


def test_load_unreadable_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file") as info:
        load(tmp_path)  # a directory: IsADirectoryError even for root
    assert str(tmp_path) in str(info.value)


@pytest.mark.parametrize("text", [
    "[stack\nname = 'x'\n",
    "[stack]\nname = quizapi\n",
    "[stack]\nname = \"a\"\nname = \"b\"\n",
    "just words",
])
def test_load_invalid_toml(tmp_path: Path, text: str) -> None:
    path = tmp_path / CONFIG_FILE
    path.write_text(text)
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load(path)
    assert str(path) in str(info.value)


def test_load_file_that_is_not_utf8(tmp_path: Path) -> None:
    """TOML is UTF-8: a Latin-1 or binary file is a ConfigError, not a UnicodeDecodeError."""
    path = tmp_path / CONFIG_FILE
    path.write_bytes(b'[stack]\nname = "caf\xe9"\n')
    with pytest.raises(ConfigError) as info:
        load(path)
    assert str(path) in str(info.value)


def test_load_validates_the_document(config_file: Path) -> None:
    text = config_file.read_text()
    config_file.write_text(text.replace("port = 8080", "port = true"))
    with pytest.raises(ConfigError, match=r"container\.port"):
        load(config_file)
    config_file.write_text(text.replace("[api]", "[apis]"))
    with pytest.raises(ConfigError, match=r"\[apis\]"):
        load(config_file)
    config_file.write_text(text.replace('path = "/teams/{team}"', 'path = "teams"'))
    with pytest.raises(ConfigError, match=r"api\.routes\[1\]\.path"):
        load(config_file)


def test_load_toml_memory_and_cpu(config_file: Path) -> None:
    text = config_file.read_text().replace("port = 8080", "cpu = 4096\nmemory = 30720")
    config_file.write_text(text)
    cfg = load(config_file)
    assert (cfg.cpu, cfg.memory, cfg.port) == (4096, 30720, 80)


# --- subnet_cidrs -------------------------------------------------------------------------------


def test_two_zones_split_a_slash_16_into_four_slash_18s() -> None:
    public, private = subnet_cidrs("10.0.0.0/16", 2)
    assert public == ["10.0.0.0/18", "10.0.64.0/18"]
    assert private == ["10.0.128.0/18", "10.0.192.0/18"]


def test_three_zones_use_slash_19s() -> None:
    public, private = subnet_cidrs("10.0.0.0/16", 3)
    assert public == ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]
    assert private == ["10.0.96.0/19", "10.0.128.0/19", "10.0.160.0/19"]


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "172.16.0.0/20", "192.168.7.0/24"])
@pytest.mark.parametrize("zones", [2, 3, 4, 5, 6])
def test_subnets_are_equal_disjoint_and_inside_the_vpc(cidr: str, zones: int) -> None:
    vpc = ipaddress.IPv4Network(cidr)
    public, private = subnet_cidrs(cidr, zones)
    assert len(public) == len(private) == zones
    nets = [ipaddress.IPv4Network(s) for s in public + private]
    assert len({n.prefixlen for n in nets}) == 1
    assert nets[0].prefixlen <= 28  # AWS's smallest subnet
    assert all(n.subnet_of(vpc) for n in nets)
    assert all(not a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])
    assert nets == sorted(nets)  # public first, then private, in address order
