"""`network.nat` before any write and in the estimate: the config key, the ECR check, the
endpoint services the region and zones offer, and each mode's price."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIG
from fakes import context

from gatewayproxy import cost
from gatewayproxy.config import parse
from gatewayproxy.errors import AwsError, ConfigError
from gatewayproxy.resources import vpc_endpoint, way_out

ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/quiz:1"


def with_nat(nat: str) -> str:
    return CONFIG.replace("[api]", f'[network]\nnat = "{nat}"\n\n[api]')


@pytest.mark.parametrize("nat", ["single", "per_zone", "none"])
def test_each_mode_parses_and_single_is_the_default(nat: str) -> None:
    assert parse(tomllib.loads(with_nat(nat))).nat == nat
    assert parse(tomllib.loads(CONFIG)).nat == "single"


def test_another_value_is_refused_naming_the_key_and_the_choices() -> None:
    with pytest.raises(ConfigError) as refused:
        parse(tomllib.loads(with_nat("two")))
    assert str(refused.value) == \
        'network.nat \'two\' must be one of "single", "per_zone", "none"'


def services(zones: list[str] | None = None) -> dict[str, Any]:
    names = [f"com.amazonaws.eu-west-1.{s}" for s in ("ecr.api", "ecr.dkr", "logs", "s3")]
    return {"ServiceDetails": [{"ServiceName": n, "AvailabilityZones": zones or [
        "eu-west-1a", "eu-west-1b"]} for n in names]}


ZONES = {"AvailabilityZones": [{"ZoneId": "euw1-az1", "ZoneName": "eu-west-1a"},
                               {"ZoneId": "euw1-az2", "ZoneName": "eu-west-1b"}]}


def none_ctx(tmp_path: Path, image: str = ECR, answers: dict[str, Any] | None = None,
             **changes: Any) -> Any:
    ctx, aws = context(tmp_path, {"describe_vpc_endpoint_services": services(),
                                  "describe_availability_zones": ZONES, **(answers or {})})
    ctx.config = dataclasses.replace(ctx.config, nat="none", image=image, **changes)
    ctx.state.record("cluster", "availability_zones", ["euw1-az1", "euw1-az2"])
    reports: list[str] = []
    ctx.report = lambda step, message: reports.append(message)
    return ctx, aws, reports


@pytest.mark.parametrize("image", ["public.ecr.aws/nginx/nginx:1.27", "nginx:1.27",
                                   "123456789012.dkr.ecr.us-east-1.amazonaws.com/quiz:1"])
def test_none_refuses_an_image_outside_this_regions_private_ecr_and_says_why(
        tmp_path: Path, image: str) -> None:
    ctx, aws, _ = none_ctx(tmp_path, image)
    with pytest.raises(ConfigError) as refused:
        way_out.check(ctx)
    assert str(refused.value) == (
        f"container.image {image!r}: with network.nat = \"none\" tasks have no way out, so the "
        "image must be in this region's private ECR "
        "(123456789012.dkr.ecr.eu-west-1.amazonaws.com/…)")
    assert aws.sent == []


def test_none_refuses_registry_credentials(tmp_path: Path) -> None:
    ctx, _, _ = none_ctx(tmp_path)
    ctx.config = type("WithCredentials", (), {**{f.name: getattr(ctx.config, f.name) for f in
                                                dataclasses.fields(ctx.config)},
                                             "registry_credentials": "arn:aws:secretsmanager:x"})()
    with pytest.raises(ConfigError, match="container.registry_credentials"):
        way_out.check(ctx)


def test_other_modes_check_nothing(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path)
    way_out.check(ctx)
    assert aws.sent == []


def test_a_service_the_region_does_not_offer_is_refused(tmp_path: Path) -> None:
    unknown = AwsError("DescribeVpcEndpointServices", "InvalidServiceName",
                       "The Vpc Endpoint Service 'com.amazonaws.eu-west-1.ecr.api' does not exist")
    ctx, _, _ = none_ctx(tmp_path, answers={"describe_vpc_endpoint_services": unknown})
    with pytest.raises(ConfigError, match='network.nat = "none": eu-west-1 does not offer'):
        way_out.check(ctx)


def test_a_zone_without_the_service_is_left_out_and_no_zone_at_all_is_refused(
        tmp_path: Path) -> None:
    ctx, aws, reports = none_ctx(tmp_path, answers={
        "describe_vpc_endpoint_services": services(["eu-west-1b"])})
    way_out.check(ctx)
    offered = ctx.outputs.get(vpc_endpoint.ZONES_OUTPUT)
    assert offered == {"ecr.api": [1], "ecr.dkr": [1], "logs": [1]}
    assert any("not offered in euw1-az1" in r for r in reports)
    [(_, sent)] = [c for c in aws.sent if c[0] == "describe_vpc_endpoint_services"]
    assert "com.amazonaws.eu-west-1.secretsmanager" not in sent["ServiceNames"]
    ctx, _, _ = none_ctx(tmp_path, answers={
        "describe_vpc_endpoint_services": services(["eu-west-1c"])})
    with pytest.raises(ConfigError, match="is not offered in any of the stack's zones"):
        way_out.check(ctx)


def test_each_modes_price(tmp_path: Path) -> None:
    def lines(nat: str, **changes: Any) -> dict[str, Any]:
        cfg = dataclasses.replace(parse(tomllib.loads(CONFIG)), nat=nat, **changes)
        found = cost.estimate(cfg, "eu-west-1")
        assert found is not None
        return {line.component: line for line in found.lines}

    single = lines("single")
    assert single["NAT gateway"].monthly == pytest.approx(0.048 * 730)
    assert single["Elastic IP (IPv4)"].monthly == pytest.approx(0.005 * 730)
    per_zone = lines("per_zone")
    assert per_zone["NAT gateway"].monthly == pytest.approx(2 * 0.048 * 730)
    assert per_zone["Elastic IP (IPv4)"].basis.startswith("2 x ")
    none = lines("none")
    assert "NAT gateway" not in none and "Elastic IP (IPv4)" not in none
    assert none["VPC endpoints"].monthly == pytest.approx(3 * 2 * 0.01 * 730)
    assert "S3 gateway endpoint free" in none["VPC endpoints"].basis
    secrets = lines("none", secrets={"A": "arn:aws:ssm:eu-west-1:123456789012:parameter/a"})
    assert secrets["VPC endpoints"].monthly == pytest.approx(4 * 2 * 0.01 * 730)
