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
    # dual-stack, so the AAAA alias answers (IPv4 only is API Gateway's default)
    assert create["endpointConfiguration"] == {"types": ["REGIONAL"], "ipAddressType": "dualstack"}
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

    plan = run("plan", config=config)
    assert plan.exit_code == 0 and "No changes" in plan.output
    assert "custom domain               $0.00  certificate free; zone $0.50/mo, not ours" \
        in plan.output  # its cost
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


def domain_inventory(zone: str | None = None) -> dict[str, int]:
    """What the custom domain makes, by kind (the zone's NS and SOA are the zone's own)."""
    apigw = boto3.client("apigateway", region_name=REGION)
    mappings = sum(len(apigw.get_base_path_mappings(domainName=d)["items"])
                   for d in domain_names())
    kinds = {"certificates": len(certificates()), "domain_names": len(domain_names()),
             "mappings": mappings}
    if zone is not None:
        kinds["records"] = len(records(zone))
    return {k: n for k, n in kinds.items() if n}


FULL = {"certificates": 1, "domain_names": 1, "mappings": 1, "records": 3}


def user_certificate(name: str = "api.quiz.example.com") -> str:
    """A certificate of the user's (imported: ISSUED at once)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    answer = boto3.client("acm", region_name=REGION).import_certificate(
        Certificate=cert.public_bytes(serialization.Encoding.PEM),
        PrivateKey=key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.TraditionalOpenSSL,
                                     serialization.NoEncryption()))
    return str(answer["CertificateArn"])


@pytest.mark.e2e
def test_refused_before_any_write_without_a_zone_or_a_certificate(
        moto_account: None, tmp_path: Path, calls: list[Call]) -> None:
    make_zone("other.org")
    make_zone("example.com", private=True)  # private zones do not count
    calls.clear()
    config = domain_config(tmp_path / "gatewayproxy.toml")
    for command in ("plan", "up"):
        result = run(command, config=config)
        assert result.exit_code == 1, result.output
        assert "give api.domain.certificate_arn, or create a public hosted zone" in result.output
        assert "Traceback" not in result.output
    assert writes(calls) == []


@pytest.mark.e2e
def test_a_user_certificate_is_checked_before_any_write(
        moto_account: None, tmp_path: Path, calls: list[Call]) -> None:
    other = user_certificate("www.quiz.example.com")
    config = domain_config(tmp_path / "gatewayproxy.toml", DOMAIN,
                           f'certificate_arn = "{other}"')
    result = run("up", config=config)
    assert result.exit_code == 1
    assert "api.domain.certificate_arn covers www.quiz.example.com, not api.quiz.example.com" \
        in result.output
    elsewhere = other.replace(REGION, "us-east-1")
    domain_config(config, DOMAIN, f'certificate_arn = "{elsewhere}"')
    result = run("up", config=config)
    assert result.exit_code == 1
    assert "is in us-east-1; a REGIONAL custom domain needs a certificate in the stack's " \
        "region eu-west-1" in result.output
    assert writes(calls) == []


@pytest.mark.e2e
def test_user_certificate_without_a_zone_disabled_default_endpoint(
        moto_account: None, tmp_path: Path, calls: list[Call], probes: list[str]) -> None:
    arn = user_certificate()
    config = domain_config(tmp_path / "gatewayproxy.toml", DOMAIN, f'certificate_arn = "{arn}"')
    plan = run("plan", config=config)
    assert plan.exit_code == 0, plan.output
    assert "+ custom domain" in plan.output and "api.quiz.example.com" in plan.output
    assert "ACM certificate" not in plan.output and "DNS alias" not in plan.output
    result = run("up", config=config)
    assert result.exit_code == 0, result.output
    domain = boto3.client("apigateway", region_name=REGION).get_domain_name(
        domainName="api.quiz.example.com")
    assert f"create DNS record: api.quiz.example.com CNAME {domain['regionalDomainName']}" \
        in result.output
    assert domain["regionalCertificateArn"] == arn
    assert sent(calls, "request_certificate") == []
    assert probes[-1].startswith("https://") and "execute-api" in probes[-1]

    # Only the custom domain answers: the API's flag, then a deployment (AWS applies it then).
    domain_config(config, DOMAIN, f'certificate_arn = "{arn}"', "disable_default_endpoint = true")
    plan = run("plan", config=config)
    assert "~ REST API" in plan.output
    assert "disable_default_endpoint: false -> true" in plan.output.lower()
    assert "~ API stage" in plan.output
    calls.clear()
    result = run("up", config=config)
    assert result.exit_code == 0, result.output
    update, = sent(calls, "update_rest_api")
    assert update["patchOperations"] == [{"op": "replace", "path": "/disableExecuteApiEndpoint",
                                          "value": "True"}]
    assert [c.operation for c in calls if c.operation in ("update_rest_api", "create_deployment")
            ] == ["update_rest_api", "create_deployment"]
    assert probes[-1] == "https://api.quiz.example.com"
    api = boto3.client("apigateway", region_name=REGION).get_rest_apis()["items"][0]
    assert api["disableExecuteApiEndpoint"] is True

    report = json.loads(run("status", "--json", config=config).output)
    details = next(s for s in report["steps"] if s["name"] == "rest_api")["details"]["domain"]
    assert details["certificate"] == {"arn": arn, "status": "ISSUED", "requested_by": "user"}
    assert details["dns"]["record"] == f"api.quiz.example.com CNAME {domain['regionalDomainName']}"
    assert details["default_endpoint"] == "disabled"

    down = run("down", "--yes", config=config)
    assert down.exit_code == 0, down.output
    assert domain_names() == []
    assert [c["CertificateArn"] for c in certificates()] == [arn]  # the user's stays


@pytest.mark.e2e
def test_a_renamed_domain_is_replaced_and_a_removed_one_deleted(
        moto_account: None, tmp_path: Path, calls: list[Call]) -> None:
    zone = make_zone("quiz.example.com")
    make_zone("example.com")  # the longest matching suffix wins
    config = domain_config(tmp_path / "gatewayproxy.toml")
    plan = run("plan", config=config)
    for row in ("+ ACM certificate", "+ DNS validation record", "+ custom domain",
                "+ base path mapping", "+ DNS alias records"):
        assert row in plan.output, plan.output
    assert run("up", config=config).exit_code == 0
    assert domain_inventory(zone) == FULL

    domain_config(config, 'name = "v2.quiz.example.com"')
    plan = run("plan", config=config)
    assert "-/+ custom domain" in plan.output, plan.output
    assert "name: api.quiz.example.com -> v2.quiz.example.com" in plan.output
    assert "+ ACM certificate" in plan.output and "- ACM certificate" in plan.output
    result = run("up", config=config)
    assert result.exit_code == 0, result.output
    assert domain_names() == ["v2.quiz.example.com"]
    assert [c["DomainName"] for c in certificates()] == ["v2.quiz.example.com"]
    assert domain_inventory(zone) == FULL
    assert {r["Name"] for r in records(zone) if r["Type"] == "A"} == {"v2.quiz.example.com."}
    assert run("url", config=config).output.strip() == "https://v2.quiz.example.com/"

    config.write_text(CONFIG)
    plan = run("plan", config=config)
    for row in ("- ACM certificate", "- custom domain", "- base path mapping",
                "- DNS alias records", "- DNS validation record"):
        assert row in plan.output, plan.output
    result = run("up", config=config)
    assert result.exit_code == 0, result.output
    assert domain_inventory(zone) == {}
    assert "execute-api" in run("url", config=config).output
    state = json.loads((tmp_path / ".gatewayproxy" / "quizapi.state.json").read_text())
    assert [key for key in state["steps"]["rest_api"]["resources"] if "domain" in key] == []
    calls.clear()
    assert run("up", config=config).exit_code == 0
    assert writes(calls) == []


@pytest.mark.e2e
def test_the_emulator_issues_a_certificate_once_its_validation_cname_is_in_a_zone(
        moto_account: None) -> None:
    acm = boto3.client("acm", region_name=REGION)
    arn = acm.request_certificate(DomainName="api.quiz.example.com",
                                  ValidationMethod="DNS")["CertificateArn"]
    detail = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert detail["Status"] == "PENDING_VALIDATION"
    record = detail["DomainValidationOptions"][0]["ResourceRecord"]
    zone = make_zone()
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"] == \
        "PENDING_VALIDATION"  # a zone alone is not the record
    boto3.client("route53", region_name=REGION).change_resource_record_sets(
        HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
            "Name": record["Name"], "Type": "CNAME", "TTL": 300,
            "ResourceRecords": [{"Value": record["Value"]}]}}]})
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"] == "ISSUED"


@pytest.mark.e2e
def test_the_emulator_answers_domain_names_and_the_endpoint_flag_like_aws(
        moto_account: None) -> None:
    apigw = boto3.client("apigateway", region_name=REGION)
    apigw.create_domain_name(domainName="api.quiz.example.com",
                             regionalCertificateArn="arn:aws:acm:eu-west-1:123456789012:"
                             "certificate/x", endpointConfiguration={"types": ["REGIONAL"]})
    with pytest.raises(apigw.exceptions.NotFoundException):
        apigw.get_base_path_mapping(domainName="api.quiz.example.com", basePath="(none)")
    api = apigw.create_rest_api(name="a")["id"]
    for value, disabled in (("True", True), ("False", False)):
        apigw.update_rest_api(restApiId=api, patchOperations=[
            {"op": "replace", "path": "/disableExecuteApiEndpoint", "value": value}])
        assert apigw.get_rest_api(restApiId=api)["disableExecuteApiEndpoint"] is disabled
