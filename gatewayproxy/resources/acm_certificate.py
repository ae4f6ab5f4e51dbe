"""The ACM certificate gatewayproxy requests for the custom domain when the config names none:
public, DNS-validated, in the stack's region (a REGIONAL domain takes only that), tagged.

Its `ready` is ISSUED, which needs the validation CNAME (dns_validation_record.py, made as soon
as the certificate exists) in the zone. A renamed domain gets a new certificate; the old one
is a leftover, deleted once the custom domain moved off it. A certificate the user gave is
never touched: no node of this kind wants it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, ClassVar

from gatewayproxy.context import Context
from gatewayproxy.resources import domain
from gatewayproxy.resources.base import Found, Health, Resource, WaitFor

# ACM: "After successful completion of the RequestCertificate action, there is a delay of
# several seconds before you can retrieve information about the new certificate."
NOT_YET = ("ResourceNotFoundException",)
# DNS validation takes minutes once the record is in the zone; ACM gives up after 72 hours
# (VALIDATION_TIMED_OUT). 45 minutes covers slow DNS propagation without hanging for days.
ISSUE_TIMEOUT = 45 * 60
# Just after DeleteDomainName, ACM may still count the certificate as in use (InUseBy).
IN_USE_SECONDS = 10 * 60
# state: the certificates a renamed domain no longer uses, until they are deleted
OLD = "domain_old_certificates"


def describe(ctx: Context, arn: str, retry: tuple[str, ...] = ()) -> Found | None:
    found = ctx.aws.find("acm", "describe_certificate", CertificateArn=arn, retry=retry)
    return dict(found["Certificate"]) if found else None


def _status(found: Any) -> str:
    return str((found or {}).get("Status") or ("deleted" if found is None else "?"))


def _reason(found: Any) -> str:
    reason = (found or {}).get("FailureReason") or ""
    return (f"{reason}; " if reason else "") + (
        "ACM could not validate it: is the validation CNAME in the domain's public zone, and "
        "does the zone answer for the domain (its NS records at the registrar)?")


def idempotency_token(ctx: Context, name: str) -> str:
    """The same token for the same stack and name: a re-run within the hour after a crash gets
    the certificate it already asked for (RequestCertificate: `\\w+`, at most 32 characters;
    tokens time out after one hour)."""
    return "gp" + hashlib.sha256(f"{ctx.stack}/{name}".encode()).hexdigest()[:30]


def owned(ctx: Context, arn: str) -> bool:
    tags = ctx.aws.call("acm", "list_tags_for_certificate", CertificateArn=arn).get("Tags", [])
    return ctx.owns(tags)


@dataclass
class AcmCertificate(Resource):
    kind: ClassVar[str] = "ACM certificate"
    ready: ClassVar[WaitFor | None] = WaitFor(
        read=lambda ctx, found: describe(ctx, found["CertificateArn"], retry=NOT_YET),
        status=_status, done=frozenset({"ISSUED"}), failed=domain.CERTIFICATE_FAILED,
        timeout=ISSUE_TIMEOUT, reason=_reason)

    def name(self, ctx: Context) -> str:
        return domain.hostname(ctx)

    def wanted(self, ctx: Context) -> bool:
        return domain.requests_certificate(ctx)

    def identity(self, found: Found) -> Any:
        return found["CertificateArn"]

    def find(self, ctx: Context) -> Found | None:
        """The recorded one while it is for the wanted name, else ours for that name among the
        account's certificates (a request cut short before the state was written)."""
        recorded = self.recorded(ctx)
        wanted = ctx.config.domain.name if self.wanted(ctx) and ctx.config.domain else None
        if recorded:
            found = describe(ctx, recorded)
            if found is not None and (wanted is None or found.get("DomainName") == wanted):
                return found
        if wanted is None:
            return None
        for item in ctx.aws.pages("acm", "list_certificates", items="CertificateSummaryList",
                                  token="NextToken"):
            if item.get("DomainName") == wanted and owned(ctx, item["CertificateArn"]):
                return describe(ctx, item["CertificateArn"])
        return None

    def create(self, ctx: Context) -> Found:
        name = domain.hostname(ctx)
        answer = ctx.aws.call("acm", "request_certificate", DomainName=name,
                              ValidationMethod="DNS",
                              IdempotencyToken=idempotency_token(ctx, name),
                              Tags=ctx.tag_list(self.step, "certificate"))
        arn = answer["CertificateArn"]
        self.record(ctx, {"CertificateArn": arn})
        return describe(ctx, arn, retry=NOT_YET) or {"CertificateArn": arn, "DomainName": name}

    def stale(self, ctx: Context) -> list[Found]:
        """Certificates of a name the config no longer has: the recorded one (until this run
        requests the new one) and those it replaced (kept in the state until deleted, so a run
        cut short still deletes them), once the custom domain moved off them."""
        wanted = ctx.config.domain.name if self.wanted(ctx) and ctx.config.domain else None
        recorded = self.recorded(ctx)
        old = ctx.state.get(self.step, OLD) or []
        arns = dict.fromkeys(a for a in [recorded, *old] if a)
        found = [f for f in (describe(ctx, arn) for arn in arns) if f is not None]
        if wanted is None:  # not wanted at all: the recorded one is `find`'s, the rest here
            return [f for f in found if f["CertificateArn"] != recorded]
        return [f for f in found if f.get("DomainName") != wanted]

    def record(self, ctx: Context, found: Found) -> None:
        previous = self.recorded(ctx)
        if previous and previous != found["CertificateArn"]:
            old = ctx.state.get(self.step, OLD) or []
            ctx.state.record(self.step, OLD, [*old, previous])
        super().record(ctx, found)

    def forget(self, ctx: Context) -> None:
        super().forget(ctx)
        ctx.state.forget(self.step, OLD)

    def stale_name(self, ctx: Context, found: Found) -> str:
        return str(found.get("DomainName"))

    def delete(self, ctx: Context, found: Found) -> None:
        # ACM refuses while a service uses it ("ResourceInUseException"): the custom domain
        # that used it went first, and ACM takes a while to see it go.
        arn = found["CertificateArn"]
        ctx.aws.find("acm", "delete_certificate", CertificateArn=arn,
                     retry=("ResourceInUseException",), retry_for=IN_USE_SECONDS)
        old = [a for a in ctx.state.get(self.step, OLD) or [] if a != arn]
        if old:
            ctx.state.record(self.step, OLD, old)
        else:
            ctx.state.forget(self.step, OLD)

    def publish(self, ctx: Context, found: Found) -> None:
        ctx.outputs.publish(f"{self.step}.certificate_arn", found["CertificateArn"])

    def health(self, ctx: Context, found: Found) -> Health:
        status = _status(found)
        return Health(status == "ISSUED",
                      f"certificate for {found.get('DomainName')} {status} (requested by "
                      "gatewayproxy)",
                      {"domain": {"certificate": {"arn": found["CertificateArn"],
                                                  "status": status,
                                                  "requested_by": "gatewayproxy"}}})
