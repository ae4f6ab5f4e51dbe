"""`gatewayproxy state bootstrap s3://BUCKET`: a bucket made the way a state bucket should be.

Versioning on (every state ever written can be restored), all public access blocked, default
encryption (SSE-S3: no KMS key to manage or pay for, and no kms:* permission the CI role would
need; a bucket already encrypted with aws:kms is kept as it is), and a policy that refuses any
request not made over TLS. Each setting is read first and written only when it is not so yet:
a second run makes no write, a run on a bucket missing one setting converges that one.
A bucket of that name in another account is refused.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from gatewayproxy.arns import PARTITION
from gatewayproxy.errors import AwsError, StateError
from gatewayproxy.s3_state import DENIED_CODES, explain

if TYPE_CHECKING:
    from gatewayproxy.aws import Aws

TLS_SID = "gatewayproxyDenyInsecureTransport"
PUBLIC_ACCESS_BLOCK = {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                       "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
SSE_S3 = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                     "BucketKeyEnabled": True}]}


def bootstrap(aws: Aws, bucket: str) -> list[str]:
    """Make `bucket` a state bucket; return one line per thing done (empty: all was so)."""
    done: list[str] = []
    if _ensure_bucket(aws, bucket):
        done.append(f"created bucket {bucket} in {aws.region}")
    for ensure in (_versioning, _public_access_block, _encryption, _tls_policy):
        line = ensure(aws, bucket)
        if line:
            done.append(line)
    return done


def _call(aws: Aws, operation: str, action: str, bucket: str, **params: Any) -> Any:
    try:
        return aws.call("s3", operation, Bucket=bucket, **params)
    except AwsError as exc:
        raise explain(exc, action, bucket, None, aws.region) from None


def _read(aws: Aws, operation: str, action: str, bucket: str, missing: str) -> Any | None:
    """A bucket setting, or None when AWS says the bucket has none (`missing` is that code)."""
    try:
        return aws.call("s3", operation, Bucket=bucket, ExpectedBucketOwner=aws.account_id)
    except AwsError as exc:
        if exc.code == missing:
            return None
        raise explain(exc, action, bucket, None, aws.region) from None


def _ensure_bucket(aws: Aws, bucket: str) -> bool:
    """True when the bucket was created. GetBucketLocation with ExpectedBucketOwner answers
    403 for a bucket of another account (S3 API reference, GetBucketLocation)."""
    try:
        found = aws.call("s3", "get_bucket_location", Bucket=bucket,
                         ExpectedBucketOwner=aws.account_id)
    except AwsError as exc:
        if exc.code in DENIED_CODES:
            raise _not_ours(aws, bucket) from None
        if exc.code != "NoSuchBucket":
            raise explain(exc, "GetBucketLocation", bucket, None, aws.region) from None
        return _create(aws, bucket)
    region = found.get("LocationConstraint") or "us-east-1"  # None means us-east-1
    region = "eu-west-1" if region == "EU" else region  # the legacy name
    if region != aws.region:
        raise StateError(f"the S3 bucket {bucket!r} is in {region}, not {aws.region}: run "
                         f"`gatewayproxy state bootstrap s3://{bucket} --region {region}`, or "
                         "choose another bucket name")
    return False


def _create(aws: Aws, bucket: str) -> bool:
    # us-east-1 takes no LocationConstraint (CreateBucket: "If you don't specify a Region, the
    # bucket is created in US East (N. Virginia)"; naming us-east-1 there is an error).
    params: dict[str, Any] = {"ObjectOwnership": "BucketOwnerEnforced"}
    if aws.region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": aws.region}
    try:
        aws.call("s3", "create_bucket", Bucket=bucket, **params)
    except AwsError as exc:
        if exc.code == "BucketAlreadyOwnedByYou":
            return False
        if exc.code == "BucketAlreadyExists":
            raise _not_ours(aws, bucket) from None
        raise explain(exc, "CreateBucket", bucket, None, aws.region) from None
    return True


def _not_ours(aws: Aws, bucket: str) -> StateError:
    return StateError(f"the S3 bucket {bucket!r} exists and belongs to another account (not "
                      f"{aws.account_id}), or these credentials may not read it: choose another "
                      "bucket name (bucket names are global)")


def _versioning(aws: Aws, bucket: str) -> str | None:
    found = _read(aws, "get_bucket_versioning", "GetBucketVersioning", bucket, "")
    if (found or {}).get("Status") == "Enabled":
        return None
    _call(aws, "put_bucket_versioning", "PutBucketVersioning", bucket,
          VersioningConfiguration={"Status": "Enabled"}, ExpectedBucketOwner=aws.account_id)
    return "versioning enabled"


def _public_access_block(aws: Aws, bucket: str) -> str | None:
    found = _read(aws, "get_public_access_block", "GetBucketPublicAccessBlock", bucket,
                  "NoSuchPublicAccessBlockConfiguration")
    if found and all(found.get("PublicAccessBlockConfiguration", {}).get(name)
                     for name in PUBLIC_ACCESS_BLOCK):
        return None
    _call(aws, "put_public_access_block", "PutBucketPublicAccessBlock", bucket,
          PublicAccessBlockConfiguration=dict(PUBLIC_ACCESS_BLOCK),
          ExpectedBucketOwner=aws.account_id)
    return "all public access blocked"


def _encryption(aws: Aws, bucket: str) -> str | None:
    found = _read(aws, "get_bucket_encryption", "GetEncryptionConfiguration", bucket,
                  "ServerSideEncryptionConfigurationNotFoundError")
    rules = (found or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    if any(rule.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm")
           for rule in rules):
        return None  # SSE-S3 (every bucket's default since 2023) or a KMS key: kept as it is
    _call(aws, "put_bucket_encryption", "PutEncryptionConfiguration", bucket,
          ServerSideEncryptionConfiguration=SSE_S3, ExpectedBucketOwner=aws.account_id)
    return "default encryption SSE-S3 set"


def tls_statement(bucket: str) -> dict[str, Any]:
    """Deny every S3 action on the bucket and its objects over plain HTTP (S3 User Guide,
    "Bucket policy examples": aws:SecureTransport; the AWS Config rule s3-bucket-ssl-requests-only)."""
    arn = f"arn:{PARTITION}:s3:::{bucket}"
    return {"Sid": TLS_SID, "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [arn, f"{arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def _tls_policy(aws: Aws, bucket: str) -> str | None:
    found = _read(aws, "get_bucket_policy", "GetBucketPolicy", bucket, "NoSuchBucketPolicy")
    wanted = tls_statement(bucket)
    document: dict[str, Any] = {"Version": "2012-10-17", "Statement": []}
    if found and found.get("Policy"):
        document = json.loads(found["Policy"])
        statements = document.get("Statement", [])
        statements = statements if isinstance(statements, list) else [statements]
        if any(_same(s, wanted) for s in statements):
            return None
        # Keep the owner's other statements; ours replaces an older copy of itself.
        document["Statement"] = [s for s in statements if s.get("Sid") != TLS_SID]
    document["Statement"].append(wanted)
    _call(aws, "put_bucket_policy", "PutBucketPolicy", bucket, Policy=json.dumps(document),
          ExpectedBucketOwner=aws.account_id)
    return "policy refusing non-TLS access set"


def _same(statement: Any, wanted: dict[str, Any]) -> bool:
    """Equal up to the order of its resources (AWS may hand a policy back reordered)."""
    if not isinstance(statement, dict):
        return False

    def norm(s: dict[str, Any]) -> str:
        resources = s.get("Resource")
        resources = sorted(resources) if isinstance(resources, list) else [resources]
        return json.dumps({**s, "Resource": resources}, sort_keys=True)

    return norm(statement) == norm(wanted)
