"""Validation of the API access keys: each mistake is a ConfigError naming the key."""

from __future__ import annotations

import tomllib

import pytest
from access_fixtures import ACCESS_CONFIG
from conftest import CONFIG

from gatewayproxy import config
from gatewayproxy.config import Autoscaling, Throttle, UsagePlan
from gatewayproxy.errors import ConfigError


def parse(text: str) -> config.Config:
    return config.parse(tomllib.loads(text))


def test_defaults_keep_the_old_behaviour_and_turn_access_logs_on() -> None:
    cfg = parse(CONFIG)
    assert all(r.auth == "none" and r.function is None and r.throttle is None for r in cfg.routes)
    assert (cfg.access_logs, cfg.vpc_link, cfg.throttle, cfg.autoscaling) == (True, None, None, None)
    assert not cfg.uses_api_keys


def test_the_full_example_parses() -> None:
    cfg = parse(ACCESS_CONFIG)
    assert [(r.path, r.auth, r.target) for r in cfg.routes] == [
        ("/answers", "none", "service"), ("/teams/{team}", "api_key", "service"),
        ("/hook", "none", "lambda:quiz-hook"), ("/admin", "iam", "service")]
    assert cfg.throttle == Throttle(50.0, 100)
    assert cfg.routes[1].throttle == Throttle(2.0, 4)
    assert cfg.usage_plan == UsagePlan(5.0, 10, 1000, "day")


def test_autoscaling_parses() -> None:
    text = CONFIG.replace("desired_count = 2\n", "desired_count = 2\n[container.autoscaling]\n"
                          "min = 1\nmax = 4\ncpu_target = 70\n")
    # [container.autoscaling] must come after the container keys: move environment before it
    text = text.replace('environment = { GREETING = "hello" }\n', "")
    assert parse(text).autoscaling == Autoscaling(1, 4, 70.0)


ROUTE = '[[api.routes]]\npath = "/answers"\nmethods = ["GET", "POST"]\n'


@pytest.mark.parametrize("old, new, words", [
    (ROUTE, ROUTE + 'auth = "token"\n', "api.routes[0].auth 'token' must be one of"),
    (ROUTE, ROUTE + 'lambda = "not a name"\n', "api.routes[0].lambda 'not a name'"),
    (ROUTE, ROUTE + 'lambda = "arn:aws:lambda:eu-west-1:12:function:f"\n', "api.routes[0].lambda"),
    (ROUTE, ROUTE + "throttle = { rate = 5 }\n", "api.routes[0].throttle.burst is required"),
    (ROUTE, ROUTE + "throttle = { rate = -1, burst = 2 }\n", "api.routes[0].throttle.rate -1"),
    (ROUTE, ROUTE + "throttle = { rate = 1, burst = 2, extra = 1 }\n",
     "unknown key api.routes[0].throttle.extra"),
    (ROUTE, ROUTE + "timeout = 5\n", "unknown key api.routes[0].timeout"),
    ('stage = "live"\n', 'stage = "live"\nvpc_link = "v3"\n', "api.vpc_link 'v3'"),
    ('stage = "live"\n', 'stage = "live"\naccess_logs = "yes"\n', "api.access_logs must be"),
    ('stage = "live"\n', 'stage = "live"\nthrottle = { rate = "fast", burst = 1 }\n',
     "api.throttle.rate must be a number"),
    ('stage = "live"\n', 'stage = "live"\nusage_plan = { rate = 1, burst = 1 }\n',
     "api.usage_plan is set, but no route has auth"),
    ('stage = "live"\n', 'stage = "live"\nkeys = 1\n', "unknown key api.keys"),
    ("desired_count = 2\n", "desired_count = 2\nautoscaling = { min = 3, max = 2 }\n",
     "container.autoscaling.min 3 is above container.autoscaling.max 2"),
    ("desired_count = 2\n", "desired_count = 2\nautoscaling = { min = 3, max = 5 }\n",
     "container.desired_count 2 must be within container.autoscaling.min 3"),
    ("desired_count = 2\n", "desired_count = 2\nautoscaling = { max = 5 }\n",
     "container.autoscaling.min is required"),
    ("desired_count = 2\n", "desired_count = 2\nautoscaling = { min = 1, max = 5, cpu = 5 }\n",
     "unknown key container.autoscaling.cpu"),
    ("desired_count = 2\n", "desired_count = 2\nautoscaling = { min = 1, max = 5, cpu_target = 0 }\n",
     "container.autoscaling.cpu_target 0 is out of range"),
])
def test_mistakes_name_the_key(old: str, new: str, words: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse(CONFIG.replace(old, new))
    assert words in str(error.value)


@pytest.mark.parametrize("old, new, words", [
    ("quota = 1000\n", "quota = 0\n", "api.usage_plan.quota 0 is out of range"),
    ('quota_period = "day"\n', 'quota_period = "year"\n', "api.usage_plan.quota_period 'year'"),
    ("quota = 1000\n", "", "api.usage_plan.quota_period needs api.usage_plan.quota"),
    ("burst = 10\n", "burst = 10\nlimit = 3\n", "unknown key api.usage_plan.limit"),
])
def test_usage_plan_mistakes(old: str, new: str, words: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse(ACCESS_CONFIG.replace(old, new))
    assert words in str(error.value)


def test_lambda_arns_with_alias_and_names_are_accepted() -> None:
    for value in ("quiz-hook", "arn:aws:lambda:eu-west-1:123456789012:function:quiz-hook",
                  "arn:aws:lambda:eu-west-1:123456789012:function:quiz-hook:live"):
        cfg = parse(CONFIG.replace(ROUTE, ROUTE + f'lambda = "{value}"\n'))
        assert cfg.routes[0].function == value
