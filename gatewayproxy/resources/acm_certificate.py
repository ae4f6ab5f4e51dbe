"""The ACM certificate gatewayproxy requests for the custom domain when the config names none:
public, DNS-validated, in the stack's region (a REGIONAL domain takes only that), tagged.

It is issued once the validation CNAME (dns_validation_record.py, made as soon as the
certificate exists) is in the zone: that record's `ready` waits for ISSUED. A renamed domain
gets a new certificate; the old one is a leftover, deleted once the custom domain moved off it.
A certificate the user gave is never touched: no node of this kind wants it.
"""

from __future__ import annotations

import secrets
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
TOKEN = "domain_certificate_token"  # state: the request's idempotency token, until recorded
STEP = domain.STEP


def describe(ctx: Context, arn: str, retry: tuple[str, ...] = ()) -> Found | None:
    found = ctx.aws.find("acm", "describe_certificate", CertificateArn=arn, retry=retry)
    return dict(found["Certificate"]) if found else None


def certificate_arn(ctx: Context) -> str | None:
    """The requested certificate, as this command found or made it, else as recorded."""
    found = ctx.outputs.get(f"{domain.STEP}.certificate_arn") or ctx.state.get(
        domain.STEP, domain.CERTIFICATE)
    return str(found) if found else None


def _status(found: Any) -> str:
    return str((found or {}).get("Status") or ("deleted" if found is None else "?"))


def _reason(found: Any) -> str:
    reason = (found or {}).get("FailureReason") or ""
    return (f"{reason}; " if reason else "") + (
        "ACM could not validate it: is the validation CNAME in the domain's public zone, and "
        "does the zone answer for the domain (its NS records at the registrar)?")


def _issued_read(ctx: Context, found: Found) -> Found | None:
    arn = certificate_arn(ctx)
    return describe(ctx, arn, retry=NOT_YET) if arn else None


# Until ACM issued it, failing on a status that never becomes ISSUED: the validation record's
# `ready` (that record is what issuing waits for; waiting on the certificate's own node would
# hold up a sequential run before the record is made).
ISSUED = WaitFor(read=_issued_read, status=_status, done=frozenset({"ISSUED"}),
                 failed=domain.CERTIFICATE_FAILED, timeout=ISSUE_TIMEOUT, reason=_reason)


def idempotency_token(ctx: Context, name: str) -> str:
    """One token per request, kept in the state before the request is sent: a re-run after a
    crash (within the hour tokens live) gets the certificate it already asked for, and a
    request after that certificate was deleted is a new one (RequestCertificate: `\\w+`, at
    most 32 characters; "Idempotency tokens time out after one hour")."""
    kept = ctx.state.get(STEP, TOKEN) or {}
    if kept.get("name") == name:
        return str(kept["token"])
    token = "gp" + secrets.token_hex(15)
    ctx.state.record(STEP, TOKEN, {"name": name, "token": token})
    return token


def owned(ctx: Context, arn: str) -> bool:
    tags = ctx.aws.call("acm", "list_tags_for_certificate", CertificateArn=arn).get("Tags", [])
    return ctx.owns(tags)


@dataclass
class AcmCertificate(Resource):
    kind: ClassVar[str] = "ACM certificate"

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
        # Requested, or found after a request cut short: either way the token has served.
        ctx.state.forget(self.step, TOKEN)

    def forget(self, ctx: Context) -> None:
        super().forget(ctx)
        ctx.state.forget(self.step, OLD)
        ctx.state.forget(self.step, TOKEN)

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
