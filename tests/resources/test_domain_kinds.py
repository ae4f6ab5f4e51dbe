"""[api.domain] on a fake AWS: the config's rules, the zone and certificate checks (reads only),
and the custom domain's kinds: what they find, refuse, diff and send."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

import pytest
from resources.fakes import FakeAws
from resources.fakes import context as fake_context

from gatewayproxy.config import Domain, parse
from gatewayproxy.errors import AwsError, ConfigError, NotOurs
from gatewayproxy.resources import domain
from gatewayproxy.resources import rest_api as api
from gatewayproxy.resources.acm_certificate import AcmCertificate, idempotency_token
from gatewayproxy.resources.base_path_mapping import BasePathMapping
from gatewayproxy.resources.custom_domain import CustomDomain
from gatewayproxy.resources.dns_alias import AliasRecords
from gatewayproxy.resources.dns_validation_record import ValidationRecord, resource_record

BASE = '[stack]\nname = "quizapi"\n[container]\nimage = "nginx"\n[api.domain]\n'
CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/0b1c2d3e-aaaa-bbbb-cccc-0123456789ab"
ZONES: dict[str, Any] = {"HostedZones": []}


def context(tmp_path: Path, **answers: Any) -> tuple[Any, FakeAws]:
    return fake_context(tmp_path, answers)


def domain_of(text: str) -> Domain | None:
    return parse(tomllib.loads(BASE + text)).domain


def with_domain(ctx: Any, **fields: Any) -> Any:
    ctx.config = dataclasses.replace(ctx.config, domain=Domain(
        **{"name": "api.quiz.example.com", **fields}))
    return ctx


@pytest.mark.parametrize(("text", "error"), [
    ('name = "x y"', "api.domain.name 'x y' is not a hostname"),
    ('name = "api.example.com."', "(no trailing dot)"),
    ('name = "localhost"', "api.domain.name 'localhost' is not a hostname"),
    ('name = "-a.example.com"', "is not a hostname"),
    (f'name = "{"a" * 64}.example.com"', "is not a hostname"),
    (f'name = "{".".join(["abcdefgh"] * 29)}.com"', "is not a hostname"),
    ('name = "a.example.123"', "is not a hostname"),
    ("certificate_arn = 'x'", "api.domain.name is required"),
    ('name = "a.example.com"\ncertificate_arn = "arn:aws:acm:eu-west-1:1234:certificate/x"',
     "api.domain.certificate_arn 'arn:aws:acm:eu-west-1:1234:certificate/x' is not an ACM"),
    ('name = "a.example.com"\ncertificate_arn = "arn:aws:iam::123456789012:server-certificate/x"',
     "is not an ACM certificate ARN"),
    ('name = "a.example.com"\nhosted_zone_id = "z123"', "api.domain.hosted_zone_id 'z123'"),
    ('name = "a.example.com"\ndisable_default_endpoint = "yes"',
     "api.domain.disable_default_endpoint must be true or false"),
    ('name = "a.example.com"\nzone = "Z1"', "unknown key api.domain.zone"),
])
def test_config_errors_name_the_key(text: str, error: str) -> None:
    with pytest.raises(ConfigError) as found:
        domain_of(text)
    assert error in str(found.value)


def test_config_normalises_and_defaults() -> None:
    assert domain_of('name = "API.Quiz.Example.com"\nhosted_zone_id = "/hostedzone/Z1ABC"') == \
        Domain("api.quiz.example.com", None, "Z1ABC", False)
    assert parse(tomllib.loads(BASE.removesuffix("[api.domain]\n"))).domain is None


def test_a_certificate_covers_its_name_or_one_level_of_wildcard() -> None:
    assert domain.covers({"api.quiz.example.com"}, "api.quiz.example.com")
    assert domain.covers({"*.quiz.example.com"}, "api.quiz.example.com")
    assert not domain.covers({"*.example.com"}, "api.quiz.example.com")
    assert not domain.covers({"www.quiz.example.com"}, "api.quiz.example.com")


def zones_by_name(*zones: tuple[str, bool]) -> Any:
    """ListHostedZonesByName as AWS answers it: zones from DNSName on, in label order."""
    def answer(params: dict[str, Any]) -> dict[str, Any]:
        listed = [{"Id": f"/hostedzone/Z{i}", "Name": name, "Config": {"PrivateZone": private}}
                  for i, (name, private) in enumerate(zones)]
        return {"HostedZones": [z for z in listed if z["Name"] >= params["DNSName"]]}
    return answer


def test_the_longest_public_suffix_is_the_zone_private_ones_ignored(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path, list_hosted_zones_by_name=zones_by_name(
        ("api.quiz.example.com.", True), ("quiz.example.com.", False), ("example.com.", False)))
    with_domain(ctx)
    assert domain.resolve_zone(ctx, ctx.config.domain) == {"Id": "Z1",
                                                            "Name": "quiz.example.com."}
    assert [p["DNSName"] for _, p in aws.sent] == ["api.quiz.example.com.", "quiz.example.com."]


def test_two_public_zones_of_one_name_ask_for_the_id(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path, list_hosted_zones_by_name=zones_by_name(
        ("example.com.", False), ("example.com.", False)))
    with pytest.raises(ConfigError, match="set api.domain.hosted_zone_id"):
        domain.resolve_zone(ctx, with_domain(ctx).config.domain)


@pytest.mark.parametrize(("answer", "error"), [
    ({"HostedZone": {"Id": "/hostedzone/Z9", "Name": "example.com.",
                     "Config": {"PrivateZone": True}}}, "is a private zone"),
    ({"HostedZone": {"Id": "/hostedzone/Z9", "Name": "other.org.", "Config": {}}},
     "is the zone other.org, which does not hold api.quiz.example.com"),
    (AwsError("GetHostedZone", "NoSuchHostedZone", "no"), "is not a hosted zone of this account"),
])
def test_a_zone_by_id_must_be_public_and_hold_the_name(tmp_path: Path, answer: Any,
                                                       error: str) -> None:
    ctx, _ = context(tmp_path, get_hosted_zone=answer)
    with pytest.raises(ConfigError, match=error):
        domain.resolve_zone(ctx, with_domain(ctx, hosted_zone_id="Z9").config.domain)


def test_a_zone_by_id(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path, get_hosted_zone={"HostedZone": {
        "Id": "/hostedzone/Z9", "Name": "example.com.", "Config": {"PrivateZone": False}}})
    assert domain.resolve_zone(ctx, with_domain(ctx, hosted_zone_id="Z9").config.domain) == \
        {"Id": "Z9", "Name": "example.com."}


def test_no_zone_and_no_certificate_is_refused_reading_only(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path, list_hosted_zones_by_name=ZONES)
    with pytest.raises(ConfigError) as found:
        domain.check(with_domain(ctx))
    assert "give api.domain.certificate_arn, or create a public hosted zone for the domain " \
        "in this account" in str(found.value)
    assert all(op.startswith(("list_", "get_", "describe_")) for op in aws.operations)


@pytest.mark.parametrize(("certificate", "error"), [
    ({"Status": "PENDING_VALIDATION", "DomainName": "api.quiz.example.com"},
     "api.domain.certificate_arn is PENDING_VALIDATION; API Gateway needs an issued certificate"),
    ({"Status": "ISSUED", "DomainName": "*.example.com", "SubjectAlternativeNames": []},
     "covers \\*.example.com, not api.quiz.example.com"),
])
def test_a_given_certificate_must_be_issued_and_cover_the_name(
        tmp_path: Path, certificate: dict[str, Any], error: str) -> None:
    ctx, _ = context(tmp_path, list_hosted_zones_by_name=ZONES,
                     describe_certificate={"Certificate": certificate})
    with pytest.raises(ConfigError, match=error):
        domain.check(with_domain(ctx, certificate_arn=CERT))


def test_a_given_certificate_must_be_in_the_stacks_region(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path, list_hosted_zones_by_name=ZONES)
    with pytest.raises(ConfigError, match="is in us-east-1; a REGIONAL custom domain needs"):
        domain.check(with_domain(ctx, certificate_arn=CERT.replace("eu-west-1", "us-east-1")))
    assert "describe_certificate" not in aws.operations


def test_a_given_issued_certificate_without_a_zone_passes(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path, list_hosted_zones_by_name=ZONES, describe_certificate={
        "Certificate": {"Status": "ISSUED", "DomainName": "*.quiz.example.com"}})
    domain.check(with_domain(ctx, certificate_arn=CERT))
    assert domain.zone(ctx) is None


def test_the_certificate_request(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path, request_certificate={"CertificateArn": CERT},
                       describe_certificate={"Certificate": {"CertificateArn": CERT}})
    certificate = AcmCertificate("rest_api", domain.CERTIFICATE)
    certificate.create(with_domain(ctx))
    (_, sent), *_ = aws.sent
    assert sent["ValidationMethod"] == "DNS" and sent["DomainName"] == "api.quiz.example.com"
    assert len(sent["IdempotencyToken"]) <= 32 and sent["IdempotencyToken"].isalnum()
    assert ctx.state.get("rest_api", "domain_certificate_token") is None  # the ARN says it now
    assert {"Key": "gatewayproxy:stack", "Value": "quizapi"} in sent["Tags"]
    assert ctx.state.get("rest_api", domain.CERTIFICATE) == CERT  # recorded at once


def test_a_request_cut_short_is_sent_again_with_its_token_a_new_one_gets_a_new_token(
        tmp_path: Path) -> None:
    ctx, _ = context(tmp_path)
    first = idempotency_token(ctx, "api.quiz.example.com")
    assert idempotency_token(ctx, "api.quiz.example.com") == first  # kept in the state
    assert idempotency_token(ctx, "v2.quiz.example.com") != first
    ctx.state.forget("rest_api", "domain_certificate_token")
    assert idempotency_token(ctx, "api.quiz.example.com") != first


def test_a_certificate_is_wanted_only_when_none_is_given(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path)
    certificate = AcmCertificate("rest_api", domain.CERTIFICATE)
    assert not certificate.wanted(ctx)
    assert certificate.wanted(with_domain(ctx))
    assert not certificate.wanted(with_domain(ctx, certificate_arn=CERT))


def test_a_replaced_certificate_stays_in_the_state_until_deleted(tmp_path: Path) -> None:
    old = CERT.replace("0b1c", "0ld0")
    details = {CERT: {"CertificateArn": CERT, "DomainName": "api.quiz.example.com"},
               old: {"CertificateArn": old, "DomainName": "old.quiz.example.com"}}
    ctx, _ = context(tmp_path, describe_certificate=lambda p: {
        "Certificate": details[p["CertificateArn"]]})
    certificate = AcmCertificate("rest_api", domain.CERTIFICATE)
    with_domain(ctx)
    ctx.state.record("rest_api", domain.CERTIFICATE, old)
    assert [s["CertificateArn"] for s in certificate.stale(ctx)] == [old]  # what plan shows
    certificate.record(ctx, details[CERT])
    assert [s["CertificateArn"] for s in certificate.stale(ctx)] == [old]
    certificate.delete(ctx, details[old])
    assert certificate.stale(ctx) == []
    assert ctx.state.get("rest_api", "domain_old_certificates") is None


def test_the_validation_record_is_the_cname_acm_names() -> None:
    record = {"Name": "_x.api.quiz.example.com.", "Type": "CNAME", "Value": "_y.acm-validations.aws."}
    assert resource_record({"DomainValidationOptions": [{"DomainName": "a"}]}) is None
    assert resource_record({"DomainValidationOptions": [{"ResourceRecord": record}]}) == record


def test_a_renamed_domain_replaces_its_validation_record(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path)
    record = ValidationRecord("rest_api", domain.VALIDATION)
    found = {"Name": "_x.old.quiz.example.com.", "zone": "Z1"}
    assert record.diff(with_domain(ctx), found)[0].field in record.FORCE_NEW
    assert record.diff(ctx, {**found, "Name": "_x.api.quiz.example.com."}) == []


def test_a_custom_domain_without_our_tag_is_refused(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path, get_domain_name={"domainName": "api.quiz.example.com",
                                                "tags": {"team": "web"}})
    with pytest.raises(NotOurs, match="not stack quizapi's"):
        CustomDomain("rest_api", domain.DOMAIN).find(with_domain(ctx))


def test_the_custom_domain_is_regional_tls_1_2_on_the_certificate(tmp_path: Path) -> None:
    answer = {"domainName": "api.quiz.example.com", "regionalDomainName": "d-1.execute-api",
              "regionalHostedZoneId": "ZR"}
    ctx, aws = context(tmp_path, create_domain_name=answer)
    CustomDomain("rest_api", domain.DOMAIN).create(with_domain(ctx, certificate_arn=CERT))
    (_, sent), = aws.sent
    assert sent["securityPolicy"] == "TLS_1_2"
    assert sent["endpointConfiguration"] == {"types": ["REGIONAL"], "ipAddressType": "dualstack"}
    assert sent["regionalCertificateArn"] == CERT and "certificateArn" not in sent
    assert sent["tags"]["gatewayproxy:stack"] == "quizapi"
    assert ctx.state.get("rest_api", domain.DOMAIN) == "api.quiz.example.com"


def test_a_changed_certificate_is_updated_in_place(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path)
    custom = CustomDomain("rest_api", domain.DOMAIN)
    found = {"domainName": "api.quiz.example.com", "regionalCertificateArn": "arn:old",
             "securityPolicy": "TLS_1_2",
             "endpointConfiguration": {"types": ["REGIONAL"], "ipAddressType": "dualstack"}}
    changes = custom.diff(with_domain(ctx, certificate_arn=CERT), found)
    assert [(c.field, c.new) for c in changes] == [("certificate_arn", CERT)]
    assert not custom.FORCE_NEW & {c.field for c in changes}
    custom.update(ctx, found, changes)
    assert aws.sent[-1][1]["patchOperations"] == [
        {"op": "replace", "path": "/regionalCertificateArn", "value": CERT}]
    renamed = custom.diff(ctx, {**found, "domainName": "old.quiz.example.com",
                                "regionalCertificateArn": CERT})
    assert [c.field for c in renamed] == ["name"] and "name" in custom.FORCE_NEW
    # An IPv4-only domain (API Gateway's default) becomes dual-stack in place: the AAAA alias.
    ipv4 = {**found, "regionalCertificateArn": CERT,
            "endpointConfiguration": {"types": ["REGIONAL"]}}
    changes = custom.diff(with_domain(ctx, certificate_arn=CERT), ipv4)
    assert [(c.field, c.old, c.new) for c in changes] == [
        ("ip_address_type", "ipv4", "dualstack")]
    custom.update(ctx, ipv4, changes)
    assert aws.sent[-1][1]["patchOperations"] == [
        {"op": "replace", "path": "/endpointConfiguration/ipAddressType", "value": "dualstack"}]


def test_the_alias_records_point_at_the_regional_name(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path, list_hosted_zones_by_name=zones_by_name(("example.com.", False)))
    with_domain(ctx)
    ctx.outputs.publish(domain.TARGET, {"DNSName": "d-1.execute-api.eu-west-1.amazonaws.com",
                                        "HostedZoneId": "ZREGIONAL"})
    AliasRecords("rest_api", domain.ALIAS).create(ctx)
    change = aws.sent[-1][1]
    assert change["HostedZoneId"] == "Z0"
    assert [(c["Action"], c["ResourceRecordSet"]["Type"], c["ResourceRecordSet"]["AliasTarget"])
            for c in change["ChangeBatch"]["Changes"]] == [
        ("UPSERT", kind, {"HostedZoneId": "ZREGIONAL", "DNSName":
                          "d-1.execute-api.eu-west-1.amazonaws.com",
                          "EvaluateTargetHealth": False}) for kind in ("A", "AAAA")]
    assert ctx.state.get("rest_api", domain.ALIAS) == {"zone": "Z0", "name": "api.quiz.example.com"}


def test_a_record_of_the_users_under_the_name_is_never_taken_over(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path, list_hosted_zones_by_name=zones_by_name(("example.com.", False)),
                     list_resource_record_sets={"ResourceRecordSets": [
                         {"Name": "api.quiz.example.com.", "Type": "A", "TTL": 60,
                          "ResourceRecords": [{"Value": "192.0.2.1"}]}]})
    with_domain(ctx)
    ctx.outputs.publish(domain.TARGET, {"DNSName": "d-1.execute-api", "HostedZoneId": "ZR"})
    with pytest.raises(NotOurs, match="do not point at this stack's custom domain"):
        AliasRecords("rest_api", domain.ALIAS).find(ctx)


def test_the_mapping_is_the_whole_domain_to_the_stage(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path, create_base_path_mapping={"basePath": "(none)",
                                                           "restApiId": "api1", "stage": "live"})
    ctx.state.record("rest_api", "rest_api_id", "api1")
    ctx.state.record("rest_api", domain.DOMAIN, "api.quiz.example.com")
    mapping = BasePathMapping("rest_api", domain.MAPPING)
    mapping.create(with_domain(ctx))
    assert aws.sent[-1] == ("create_base_path_mapping", {
        "domainName": "api.quiz.example.com", "restApiId": "api1", "stage": "live"})
    moved = mapping.diff(ctx, {"domainName": "api.quiz.example.com", "restApiId": "api1",
                               "stage": "old"})
    assert [(c.field, c.old, c.new) for c in moved] == [("stage", "old", "live")]


def test_disabling_the_default_endpoint_is_a_rest_api_change_and_a_redeploy(
        tmp_path: Path) -> None:
    ctx, _ = context(tmp_path)
    rest = api.RestApi("rest_api", "rest_api_id")
    plain = api.spec_hash({}, "live", [])
    assert api.spec_hash({}, "live", [], default_endpoint_disabled=False) == plain
    assert api.spec_hash({}, "live", [], default_endpoint_disabled=True).split(".")[0] != \
        plain.split(".")[0]  # the routes' half: the stage redeploys
    assert rest.diff(ctx, {"id": "a", "disableExecuteApiEndpoint": False}) == []
    with_domain(ctx, disable_default_endpoint=True)
    change, = rest.diff(ctx, {"id": "a", "disableExecuteApiEndpoint": False})
    assert (change.field, change.old, change.new) == ("disable_default_endpoint", False, True)
