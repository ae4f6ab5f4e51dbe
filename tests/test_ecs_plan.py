"""End to end (moto): `plan` speaks of the ECS side's resources, `+` on a new stack, nothing on
a converged one, and an image change as an update of the task definition and the service."""

from __future__ import annotations

import json
from pathlib import Path

from access_fixtures import run
from conftest import write_config

OURS = {"task_definition", "service", "target_group"}  # the ECS side's steps


def _rows(config: Path) -> list[dict[str, object]]:
    result = run("plan", "--json", config=config)
    assert result.exit_code == 0, result.output
    return [r for r in json.loads(result.stdout)["resources"] if r["step"] in OURS]


def test_plan_lists_the_ecs_resources_then_nothing_then_an_image_update(
        moto_account: None, config_file: Path) -> None:
    planned = {(r["action"], r["kind"], r["name"]) for r in _rows(config_file)}
    assert planned == {
        ("create", "IAM role", "gatewayproxy-quizapi-eu-west-1-execution"),
        ("create", "log group", "/gatewayproxy/quizapi"),
        ("create", "task definition", "gatewayproxy-quizapi-app"),
        ("create", "security group", "gatewayproxy-quizapi-tasks"),
        ("create", "ingress rule", "gatewayproxy-quizapi-tasks tcp 8080"),
        ("create", "target group", "quizapi-tg-8080"),
        ("create", "listener", "quizapi-nlb:80"),
        ("create", "ECS service", "quizapi"),
    }
    assert run("up", config=config_file).exit_code == 0
    assert _rows(config_file) == []

    write_config(config_file, **{"nginx:1.27": "nginx:1.28"})
    result = run("plan", config=config_file)
    lines = result.stdout.splitlines()
    at = lines.index("~ task definition  gatewayproxy-quizapi-app")
    assert lines[at + 1] == ("    image: public.ecr.aws/nginx/nginx:1.27 -> "
                             "public.ecr.aws/nginx/nginx:1.28")
    at = lines.index("~ ECS service  quizapi")
    assert lines[at + 1] == "    task definition revision: 1 -> (known after apply)"
    assert run("down", "--yes", config=config_file).exit_code == 0
