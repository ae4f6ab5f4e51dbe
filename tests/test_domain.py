"""[api.domain] end to end on moto: the zone and certificate checks before any write, the
certificate requested and validated through the zone, the custom domain, its mapping and alias
records, plan, status, url, removal and down (which leaves the user's zone and certificate)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from access_fixtures import run
from conftest import CONFIG, REGION, Call, writes

DOMAIN = 'name = "API.quiz.example.com"'


def domain_config(path: Path, *lines: str) -> Path:
    text = CONFIG + "\n[api.domain]\n" + "\n".join(lines or (DOMAIN,)) + "\n"
    path.write_text(text)
    return path


def make_zone(name: str = "example.com", private: bool = False) -> str:
    route53 = boto3.client("route53", region_name=REGION)
    extra: dict[str, Any] = {}
    if private:
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        extra = {"VPC": {"VPCRegion": REGION, "VPCId": vpc},
                 "HostedZoneConfig": {"PrivateZone": True, "Comment": "x"}}
    zone = route53.create_hosted_zone(Name=name, CallerReference=name + str(private), **extra)
    return str(zone["HostedZone"]["Id"].split("/")[-1])


def records(zone: str) -> list[dict[str, Any]]:
    route53 = boto3.client("route53", region_name=REGION)
    return [r for r in route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
            if r["Type"] not in ("NS", "SOA")]


def domain_names() -> list[str]:
    return [d["domainName"] for d in boto3.client("apigateway", region_name=REGION)
            .get_domain_names()["items"]]


def certificates() -> list[dict[str, Any]]:
    return boto3.client("acm", region_name=REGION).list_certificates()[
        "CertificateSummaryList"]


def sent(calls: list[Call], operation: str) -> list[dict[str, Any]]:
    return [c.params for c in calls if c.operation == operation]


@pytest.mark.e2e
def test_up_with_a_zone_requests_validates_and_points_dns(
        moto_account: None, tmp_path: Path, calls: list[Call]) -> None:
    zone = make_zone()
    config = domain_config(tmp_path / "gatewayproxy.toml")
    result = run("up", config=config)
    assert result.exit_code == 0, result.output
    assert "Custom domain URL: https://api.quiz.example.com/" in result.output

    request, = sent(calls, "request_certificate")
    assert request["DomainName"] == "api.quiz.example.com"
    assert request["ValidationMethod"] == "DNS"
    assert request["IdempotencyToken"]
    assert {"Key": "gatewayproxy:stack", "Value": "quizapi"} in request["Tags"]
    create, = sent(calls, "create_domain_name")
    assert create["securityPolicy"] == "TLS_1_2"
    assert create["endpointConfiguration"] == {"types": ["REGIONAL"]}
    assert create["regionalCertificateArn"].startswith("arn:aws:acm:eu-west-1:")
    assert create["tags"]["gatewayproxy:stack"] == "quizapi"
    mapping, = sent(calls, "create_base_path_mapping")
    assert mapping["stage"] == "live" and "basePath" not in mapping

    status = boto3.client("acm", region_name=REGION).describe_certificate(
        CertificateArn=create["regionalCertificateArn"])["Certificate"]["Status"]
    assert status == "ISSUED"
    domain = boto3.client("apigateway", region_name=REGION).get_domain_name(
        domainName="api.quiz.example.com")
    by_type = {r["Type"]: r for r in records(zone)}
    assert set(by_type) == {"A", "AAAA", "CNAME"}
    for kind in ("A", "AAAA"):
        assert by_type[kind]["AliasTarget"]["DNSName"].rstrip(".") == domain["regionalDomainName"]
        assert by_type[kind]["AliasTarget"]["HostedZoneId"] == domain["regionalHostedZoneId"]
    assert by_type["CNAME"]["Name"].startswith("_")

    calls.clear()
    again = run("up", config=config)
    assert again.exit_code == 0, again.output
    assert writes(calls) == []

    url = run("url", config=config)
    assert url.output.strip() == "https://api.quiz.example.com/"

    report = json.loads(run("status", "--json", config=config).output)
    step = next(s for s in report["steps"] if s["name"] == "rest_api")
    assert report["domain_url"] == "https://api.quiz.example.com/"
    assert step["healthy"] is True
    details = step["details"]["domain"]
    assert details["name"] == "api.quiz.example.com"
    assert details["certificate"]["status"] == "ISSUED"
    assert details["certificate"]["requested_by"] == "gatewayproxy"
    assert details["dns"]["points_here"] is True
    assert details["dns"]["zone_id"] == zone

    down = run("down", "--yes", config=config)
    assert down.exit_code == 0, down.output
    assert records(zone) == []
    assert domain_names() == []
    assert certificates() == []
    assert boto3.client("route53", region_name=REGION).get_hosted_zone(Id=zone)
