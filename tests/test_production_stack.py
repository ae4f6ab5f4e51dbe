"""Issue 11's "done when", in one stack: a custom domain, secrets, registry credentials and ARM64
come up together, `status` shows each, a second `up` writes nothing, each option changed (to
x86_64 on Spot) or removed converges, and `down` leaves only what the user brought (the hosted
zone and the secrets)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from access_fixtures import run
from conftest import CONFIG, REGION, Call, writes
from inventory import inventory
from test_container_options import VALUE, make_secrets, options, role_policies, up_twice
from test_domain import certificates, domain_names, make_zone, records

DOMAIN = '\n[api.domain]\nname = "api.quiz.example.com"\n'


def secrets_left() -> list[str]:
    names = [s["Name"] for s in boto3.client("secretsmanager", region_name=REGION)
             .list_secrets()["SecretList"]]
    parameters = [p["Name"] for p in boto3.client("ssm", region_name=REGION)
                  .describe_parameters()["Parameters"]]
    return sorted(names + parameters)


@pytest.mark.e2e
def test_every_production_option_in_one_stack(moto_account: None, tmp_path: Path,
                                              calls: list[Call]) -> None:
    zone = make_zone()
    arns = make_secrets()
    config = tmp_path / "gatewayproxy.toml"
    # ARM64 with on-demand Fargate: AWS runs no ARM64 task on Fargate Spot.
    config.write_text(options(arns, capacity="on_demand", architecture="arm64") + DOMAIN)
    output = up_twice(config, calls)  # the second up writes nothing
    assert "Custom domain URL: https://api.quiz.example.com/" in output

    status = run("status", "--json", config=config)
    assert status.exit_code == 0, status.output
    document = json.loads(status.stdout)
    steps = {s["name"]: s["details"] for s in document["steps"]}
    assert steps["task_definition"]["architecture"] == "arm64"
    assert steps["task_definition"]["secrets"] == ["API_TOKEN", "DB_PASSWORD"]
    assert steps["task_definition"]["registry_credentials"] is True
    assert steps["service"]["capacity"] == "on_demand"
    domain = steps["rest_api"]["domain"]
    assert domain["name"] == "api.quiz.example.com"
    assert domain["certificate"]["status"] == "ISSUED"
    assert domain["dns"]["points_here"] is True
    assert document["domain_url"] == "https://api.quiz.example.com/"
    assert run("url", config=config).stdout.strip() == "https://api.quiz.example.com/"
    for text in (output, status.output,
                 (tmp_path / ".gatewayproxy" / "quizapi.state.json").read_text()):
        assert VALUE not in text

    # Changed: x86_64 on Spot; the domain and the secrets stay.
    config.write_text(options(arns, capacity="spot", architecture="x86_64") + DOMAIN)
    plan = run("plan", config=config).stdout
    assert "    architecture: arm64 -> x86_64" in plan
    assert "    capacity: on_demand -> spot" in plan
    up_twice(config, calls)
    assert [c for c in calls if c.operation == "update_service"]

    # Removed, every option: back to the plain stack.
    config.write_text(CONFIG)
    plan = run("plan", config=config).stdout
    assert "- custom domain  api.quiz.example.com" in plan
    assert "- IAM role policy  gatewayproxy-quizapi-eu-west-1-execution/gatewayproxy-secrets" \
        in plan
    up_twice(config, calls)
    assert domain_names() == [] and certificates() == [] and records(zone) == []
    assert role_policies() == []
    assert writes(calls)  # the first of the two ups did the removing

    assert run("down", "--yes", config=config).exit_code == 0
    assert not any(inventory(REGION).values())
    # What the user brought stays: the zone (with only its own NS/SOA) and the secrets.
    route53 = boto3.client("route53", region_name=REGION)
    assert route53.get_hosted_zone(Id=zone)["HostedZone"]["Name"] == "example.com."
    assert secrets_left() == ["/quiz/token", "dockerhub", "quiz/db"]
