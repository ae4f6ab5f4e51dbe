"""[container.health_check] and a route's timeout_ms: refused at parse with the key named, sent
as AWS takes them, planned in the config's words, converged in place (and a second `up` writes
nothing)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import boto3
import pytest
from access_fixtures import run
from conftest import CONFIG, REGION, Call, write_config, writes

from gatewayproxy import config
from gatewayproxy.errors import ConfigError

HTTP_CHECK = ('\n[api]\n', '\n[container.health_check]\npath = "/health"\nmatcher = "200,204"\n'
              'interval = 15\nhealthy_threshold = 3\nunhealthy_threshold = 4\n'
              'grace_period = 120\n\n[api]\n')
TIMEOUT = ('path = "/answers"\n', 'path = "/answers"\ntimeout_ms = 5000\n')


def parse(text: str) -> config.Config:
    return config.parse(tomllib.loads(text))


def with_check(lines: str) -> str:
    return CONFIG.replace("\n[api]\n", f"\n[container.health_check]\n{lines}\n\n[api]\n")


# -- config ----------------------------------------------------------------------------------
def test_defaults_are_what_every_stack_had() -> None:
    check = parse(CONFIG).health_check
    assert (check.path, check.protocol, check.interval, check.healthy_threshold,
            check.unhealthy_threshold, check.grace_period) == (None, "TCP", 10, 2, 2, 60)
    assert [r.timeout_ms for r in parse(CONFIG).routes] == [None, None]


@pytest.mark.parametrize(("lines", "words"), [
    ('path = "health"', "container.health_check.path must be a URL path starting with '/'"),
    (f'path = "/{"a" * 1024}"', "container.health_check.path must be a URL path"),
    ('path = "/a b"', "container.health_check.path must be a URL path"),
    ('matcher = "200"', "container.health_check.matcher needs container.health_check.path"),
    ('path = "/h"\nmatcher = "199"', "container.health_check.matcher '199': use codes"),
    ('path = "/h"\nmatcher = "200-600"', "container.health_check.matcher '200-600'"),
    ('path = "/h"\nmatcher = "300-200"', "container.health_check.matcher '300-200'"),
    ('path = "/h"\nmatcher = "2xx"', "container.health_check.matcher '2xx'"),
    ('path = "/h"\nmatcher = 200', "container.health_check.matcher must be a string"),
    ("interval = 4", "container.health_check.interval 4 is out of range (5 to 300)"),
    ("interval = 301", "container.health_check.interval 301 is out of range (5 to 300)"),
    ("healthy_threshold = 1", "container.health_check.healthy_threshold 1 is out of range"),
    ("unhealthy_threshold = 11", "container.health_check.unhealthy_threshold 11 is out of range"),
    ("grace_period = -1", "container.health_check.grace_period -1 is out of range"),
    ("grace_period = 2147483648", "container.health_check.grace_period 2147483648 is out of"),
    ('timeout = 5', "unknown key container.health_check.timeout"),
])
def test_health_check_errors_name_the_key(lines: str, words: str) -> None:
    with pytest.raises(ConfigError, match="^" + words.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[")):
        parse(with_check(lines))


def test_matcher_forms_nlb_allows() -> None:
    for matcher in ("200", "200,204", "200-399", "200-299,404", "599"):
        assert parse(with_check(f'path = "/h"\nmatcher = "{matcher}"')).health_check.matcher \
            == matcher


@pytest.mark.parametrize(("route", "api", "words"), [
    ("timeout_ms = 49", "", r"api.routes\[0\].timeout_ms 49 is out of range \(50 to 300000\)"),
    ("timeout_ms = 29001", "", r"api.routes\[0\].timeout_ms 29001 is above API Gateway's 29000 "
                               "ms: longer needs a quota increase"),
    ("timeout_ms = 300001", "allow_long_timeout = true\n", r"api.routes\[0\].timeout_ms 300001 "
                                                           "is out of range"),
    ('timeout_ms = "5s"', "", r"api.routes\[0\].timeout_ms must be a whole number"),
    ("", "allow_long_timeout = 1\n", "api.allow_long_timeout must be true or false"),
])
def test_timeout_errors_name_the_key(route: str, api: str, words: str) -> None:
    text = CONFIG.replace('stage = "live"\n', f'stage = "live"\n{api}').replace(
        'path = "/answers"\n', f'path = "/answers"\n{route}\n')
    with pytest.raises(ConfigError, match="^" + words):
        parse(text)


def test_timeouts_at_the_bounds_and_beyond_with_the_opt_in() -> None:
    for value in (50, 29000):
        assert parse(CONFIG.replace(*[TIMEOUT[0], f'{TIMEOUT[0]}timeout_ms = {value}\n'])
                     ).routes[0].timeout_ms == value
    long = CONFIG.replace('stage = "live"\n', 'stage = "live"\nallow_long_timeout = true\n') \
        .replace(TIMEOUT[0], f"{TIMEOUT[0]}timeout_ms = 120000\n")
    assert parse(long).routes[0].timeout_ms == 120000


def test_a_bad_health_check_creates_nothing(moto_account: None, config_file: Path,
                                             calls: list[Call]) -> None:
    write_config(config_file, **{"\n[api]\n": '\n[container.health_check]\ninterval = 1\n\n[api]\n'})
    result = run("up", config=config_file)
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == \
        "Error: container.health_check.interval 1 is out of range (5 to 300)"
    assert calls == []


# -- what is sent, and convergence ----------------------------------------------------------------
def group_arn_of_stack() -> str:
    groups = boto3.client("elbv2", region_name=REGION).describe_target_groups()["TargetGroups"]
    return str(groups[0]["TargetGroupArn"])


def sent(calls: list[Call], operation: str) -> list[dict[str, object]]:
    return [c.params for c in calls if c.operation == operation]


def test_http_checks_are_sent_on_create(moto_account: None, config_file: Path,
                                        calls: list[Call]) -> None:
    write_config(config_file, **dict([HTTP_CHECK, TIMEOUT]))
    assert run("up", config=config_file).exit_code == 0
    [group] = sent(calls, "create_target_group")
    assert {k: v for k, v in group.items() if k.startswith(("HealthCheck", "Healthy", "Unhealthy",
                                                             "Matcher"))} == {
        "HealthCheckEnabled": True, "HealthCheckPort": "traffic-port",
        "HealthCheckProtocol": "HTTP", "HealthCheckPath": "/health",
        "Matcher": {"HttpCode": "200,204"}, "HealthCheckIntervalSeconds": 15,
        "HealthCheckTimeoutSeconds": 6, "HealthyThresholdCount": 3, "UnhealthyThresholdCount": 4}
    [service] = sent(calls, "create_service")
    assert service["healthCheckGracePeriodSeconds"] == 120
    timeouts = {(c["httpMethod"], c["resourceId"]): c.get("timeoutInMillis")
                for c in sent(calls, "put_integration")}
    assert sorted(timeouts.values(), key=str) == [5000, 5000, None]
    calls.clear()
    assert run("up", config=config_file).exit_code == 0
    assert writes(calls) == []


def test_changes_are_planned_and_converge_in_place(moto_account: None, config_file: Path,
                                                  calls: list[Call]) -> None:
    assert run("up", config=config_file).exit_code == 0  # TCP checks by default
    [group] = sent(calls, "create_target_group")
    assert group["HealthCheckProtocol"] == "TCP"
    assert "HealthCheckPath" not in group and "Matcher" not in group
    assert sent(calls, "create_service")[0]["healthCheckGracePeriodSeconds"] == 60
    assert all("timeoutInMillis" not in c for c in sent(calls, "put_integration"))
    group_arn = group_arn_of_stack()
    write_config(config_file, **dict([HTTP_CHECK, TIMEOUT]))
    plan = run("plan", config=config_file).stdout
    assert "~ target group  quizapi-tg-8080" in plan
    for line in ("health_check.path: (TCP) -> /health", "health_check.matcher: (none) -> 200,204",
                 "health_check.interval: 10 -> 15", "health_check.healthy_threshold: 2 -> 3",
                 "health_check.unhealthy_threshold: 2 -> 4",
                 "health_check.grace_period: 60 -> 120", "timeout_ms: 29000 -> 5000"):
        assert f"    {line}" in plan, plan
    calls.clear()
    assert run("up", config=config_file).exit_code == 0
    [modify] = sent(calls, "modify_target_group")
    assert modify["TargetGroupArn"] == group_arn
    assert {k: v for k, v in modify.items() if k != "TargetGroupArn"} == {
        "HealthCheckProtocol": "HTTP", "HealthCheckPath": "/health",
        "Matcher": {"HttpCode": "200,204"}, "HealthCheckIntervalSeconds": 15,
        "HealthCheckTimeoutSeconds": 6, "HealthyThresholdCount": 3, "UnhealthyThresholdCount": 4}
    assert [c.get("healthCheckGracePeriodSeconds") for c in sent(calls, "update_service")] == [120]
    assert sorted((c.get("timeoutInMillis") for c in sent(calls, "put_integration")), key=str) \
        == [5000, 5000]
    assert "ecs.create_service" not in writes(calls)
    assert "elbv2.create_target_group" not in writes(calls)
    calls.clear()
    assert run("up", config=config_file).exit_code == 0
    assert writes(calls) == []

    # Removed again: back to TCP checks, the default grace and AWS's timeout.
    config_file.write_text(CONFIG)
    calls.clear()
    assert run("up", config=config_file).exit_code == 0
    [modify] = sent(calls, "modify_target_group")
    assert modify["HealthCheckProtocol"] == "TCP" and "HealthCheckPath" not in modify
    assert [c.get("healthCheckGracePeriodSeconds") for c in sent(calls, "update_service")] == [60]
    assert all("timeoutInMillis" not in c for c in sent(calls, "put_integration"))
    assert len(sent(calls, "put_integration")) == 2
    calls.clear()
    assert run("up", config=config_file).exit_code == 0
    assert writes(calls) == []
