"""The state in S3, locked with S3's own conditional writes (no lock table, no server of ours).

- Every state write is a PutObject conditional on the ETag this process last read or wrote
  (`IfMatch`; the first write of a new state `IfNoneMatch="*"`): a process whose lock was taken
  over gets 412 PreconditionFailed instead of overwriting newer state, and stops.
- The lock is the object `KEY.lock`, created with `IfNoneMatch="*"`. It is a lease: its body says
  who holds it and until when (LEASE_SECONDS); a background thread renews it every
  RENEW_SECONDS with `IfMatch` on the lock's ETag. An expired lock is taken over with `IfMatch`
  on the expired lock's ETag, so of two takers only one wins.
- A 409 ConditionalRequestConflict (two conditional writes at once) is retried with back-off.

S3 User Guide, "How to prevent object overwrites with conditional writes"
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html) and "How to
perform conditional deletes" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html).
Expiry compares the holder's wall clock with the taker's: machines must keep their clocks in sync
(NTP) to well within the lease.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from gatewayproxy.errors import AwsError, GatewayProxyError, StateError
from gatewayproxy.state_store import S3Location, me

if TYPE_CHECKING:
    from gatewayproxy.aws import Aws

log = logging.getLogger("gatewayproxy.state")

LEASE_SECONDS = 300.0  # a dead machine's lock is taken over 5 minutes after its last renewal
RENEW_SECONDS = 60.0  # renewed every minute: four renewals may fail before the lease runs out
CONFLICT_RETRY_SECONDS = 30.0
LOCK_FORMAT = "gatewayproxy-lock"
REGION_CODES = {"PermanentRedirect", "AuthorizationHeaderMalformed", "301",
                "IllegalLocationConstraintException"}
DENIED_CODES = {"AccessDenied", "403", "Forbidden", "AllAccessDisabled"}


def wall_time() -> float:
    """Seconds since the epoch: leases are compared across machines (tests replace it)."""
    return time.time()


def explain(exc: AwsError, action: str, bucket: str, key: str | None, region: str) -> GatewayProxyError:
    """One line a user can act on for the S3 answers that stop a state read or write."""
    where = f"s3://{bucket}/{key}" if key else f"s3://{bucket}"
    if exc.code == "NoSuchBucket":
        return StateError(f"no S3 bucket {bucket!r} (for the state {where}): create it with "
                          f"`gatewayproxy state bootstrap s3://{bucket}`")
    if exc.code in DENIED_CODES:
        return StateError(f"access denied: s3:{action} on {where} ({exc.code}): the credentials "
                          f"need s3:{action} on arn:aws:s3:::{bucket}{'/' + key if key else ''}")
    if exc.code in REGION_CODES:
        other = getattr(exc, "bucket_region", None) or "another region"
        return StateError(f"the S3 bucket {bucket!r} is in {other}, not {region} (S3 answered "
                          f"{exc.code} to {action}): use a bucket in {region}, or pass "
                          f"--region {other if other != 'another region' else 'REGION'}")
    return StateError(f"S3 {action} on {where} failed: {exc.code}: {exc.aws_message}")


class S3Store:
    """A stack's state as the object s3://BUCKET/KEY, and its lock as KEY.lock."""

    is_local = False

    def __init__(self, aws: Aws, location: S3Location, *, lease: float = LEASE_SECONDS,
                 renew_every: float = RENEW_SECONDS,
                 renew_wait: Callable[[threading.Event, float], bool] | None = None) -> None:
        """`renew_wait(stop, seconds)` waits between renewals and says True to stop (tests
        drive it; by default it is `stop.wait(seconds)`)."""
        self.aws = aws
        self.location = location
        self.lease = lease
        self.renew_every = renew_every
        self._renew_wait = renew_wait or (lambda stop, seconds: stop.wait(seconds))
        self.etag: str | None = None  # of the state this process last read or wrote
        self.lock_id: str | None = None
        self.lock_etag: str | None = None
        self.lost: str | None = None  # why this process no longer holds its lock
        self._guard = threading.Lock()

    @property
    def where(self) -> str:
        return self.location.url

    # -- calls -----------------------------------------------------------------------------
    def _call(self, operation: str, action: str, key: str, **params: Any) -> Any:
        try:
            return self.aws.call("s3", operation, Bucket=self.location.bucket, Key=key,
                                 retry=("ConditionalRequestConflict",),
                                 retry_for=CONFLICT_RETRY_SECONDS, state_write=True, **params)
        except AwsError as exc:
            if exc.code in ("PreconditionFailed", "NoSuchKey", "412", "404"):
                raise
            raise explain(exc, action, self.location.bucket, key, self.aws.region) from None

    def _get(self, key: str) -> tuple[bytes, str] | None:
        try:
            answer = self._call("get_object", "GetObject", key)
        except AwsError:  # NoSuchKey: nothing there (a 412 cannot happen: no condition sent)
            return None
        return answer["Body"].read(), str(answer["ETag"])

    # -- the state -------------------------------------------------------------------------
    def read(self) -> str | None:
        found = self._get(self.location.key)
        if found is None:
            self.etag = None
            return None
        body, self.etag = found
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise StateError(f"{self.where} is not a gatewayproxy state file; it was left "
                             "untouched") from None

    def write(self, text: str) -> None:
        if self.lost:
            raise StateError(self.lost)
        condition = {"IfMatch": self.etag} if self.etag else {"IfNoneMatch": "*"}
        try:
            answer = self._call("put_object", "PutObject", self.location.key,
                                Body=text.encode("utf-8"), ContentType="application/json",
                                **condition)
        except AwsError:
            raise StateError(self._changed_under_us()) from None
        self.etag = str(answer["ETag"])

    def delete(self) -> None:
        if self.lost:
            raise StateError(self.lost)
        if self.etag is None:
            return
        try:  # conditional deletes on general purpose buckets: DeleteObject If-Match
            self._call("delete_object", "DeleteObject", self.location.key, IfMatch=self.etag)
        except AwsError as exc:
            if exc.code in ("NoSuchKey", "404"):
                self.etag = None
                return
            raise StateError(self._changed_under_us()) from None
        self.etag = None

    def exists(self) -> bool:
        return self.etag is not None

    def _changed_under_us(self) -> str:
        return (f"the state {self.where} changed since this process read it (another "
                "gatewayproxy took over this stack's lock?); nothing was overwritten: run the "
                "command again")

    # -- the lock --------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, command: str) -> Iterator[None]:
        self.acquire(command)
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew_until, args=(stop,), daemon=True,
                                   name="gatewayproxy-lock-renewal")
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            self.release()

    def acquire(self, command: str) -> None:
        """Create KEY.lock, or take it over when its lease ran out; else refuse at once."""
        mine = me(command)
        mine.pop("pid")
        for _ in range(3):
            body = self._lock_body(mine)
            try:
                answer = self._call("put_object", "PutObject", self.location.lock_key,
                                    Body=body, ContentType="application/json", IfNoneMatch="*")
            except AwsError:  # 412: someone holds it
                holder = self._holder_and_etag()
                if holder is None:
                    continue  # released in between: try again
                found, etag = holder
                if _expires_at(found) > wall_time():
                    raise StateError(self._refusal(found)) from None
                if self._take_over(mine, etag, found):
                    return
                continue
            self._hold(mine, answer)
            return
        raise StateError(f"could not take the lock {self.location.url}.lock (it changed hands "
                         "three times in a row): run the command again")

    def _take_over(self, mine: dict[str, Any], etag: str, expired: dict[str, Any]) -> bool:
        """Replace an expired lock, only if it is still the very object we judged expired."""
        try:
            answer = self._call("put_object", "PutObject", self.location.lock_key,
                                Body=self._lock_body(mine), ContentType="application/json",
                                IfMatch=etag)
        except AwsError as exc:
            if exc.code in ("PreconditionFailed", "412", "NoSuchKey", "404"):
                return False  # another taker won, or it was released: look again
            raise
        log.warning("took over the expired lock %s of %s", expired.get("id"), expired.get("who"))
        self._hold(mine, answer)
        return True

    def _hold(self, mine: dict[str, Any], answer: dict[str, Any]) -> None:
        with self._guard:
            self.lock_id = str(mine["id"])
            self.lock_etag = str(answer["ETag"])
            self._mine = mine
            self.lost = None

    def _lock_body(self, mine: dict[str, Any]) -> bytes:
        now = wall_time()
        body = {"format": LOCK_FORMAT, **mine, "since": mine.setdefault("since", _iso(now)),
                "expires": _iso(now + self.lease), "expires_at": now + self.lease}
        return json.dumps(body, indent=2, sort_keys=True).encode("utf-8")

    def renew(self) -> bool:
        """Push the lease's expiry on, conditional on the lock being still ours; False (and
        every later state write refused) when it is not."""
        with self._guard:
            if self.lock_etag is None or self.lost:
                return False
            try:
                answer = self._call("put_object", "PutObject", self.location.lock_key,
                                    Body=self._lock_body(self._mine),
                                    ContentType="application/json", IfMatch=self.lock_etag)
            except GatewayProxyError as exc:
                if isinstance(exc, AwsError) and exc.code in ("PreconditionFailed", "412",
                                                             "NoSuchKey", "404"):
                    self.lost = (f"this gatewayproxy's lock on {self.where} was taken over or "
                                 "removed while it ran; it stops so as not to overwrite newer "
                                 "state: run the command again")
                    self.lock_etag = None
                    return False
                log.warning("could not renew the lock %s: %s", self.lock_id, exc)
                return True  # a blip: the lease has time left, try at the next renewal
            self.lock_etag = str(answer["ETag"])
            return True

    def _renew_until(self, stop: threading.Event) -> None:
        while not self._renew_wait(stop, self.renew_every):
            if not self.renew():
                return

    def release(self) -> None:
        with self._guard:
            etag, self.lock_etag, self.lock_id = self.lock_etag, None, None
        if etag is None:
            return
        try:
            self._call("delete_object", "DeleteObject", self.location.lock_key, IfMatch=etag)
        except AwsError:
            return  # gone, or no longer ours: nothing of ours to remove
        except GatewayProxyError as exc:  # must not hide the command's own outcome
            log.warning("could not remove the lock %s.lock (%s): it expires by itself in %.0f "
                        "minutes", self.where, exc, self.lease / 60)

    def _holder_and_etag(self) -> tuple[dict[str, Any], str] | None:
        found = self._get(self.location.lock_key)
        if found is None:
            return None
        body, etag = found
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            data = {"id": "?", "who": "?", "what": "?", "expires_at": float("inf")}
        return data, etag

    def holder(self) -> dict[str, Any] | None:
        found = self._holder_and_etag()
        return found[0] if found else None

    def _refusal(self, holder: dict[str, Any]) -> str:
        return (f"the stack's state {self.where} is locked by {holder.get('who', '?')} "
                f"({holder.get('what', '?')} in {holder.get('where', '?')}, since "
                f"{holder.get('since', '?')}; lock id {holder.get('id', '?')}, expires "
                f"{holder.get('expires', '?')} unless renewed); wait for it, or if that machine "
                f"died run `gatewayproxy unlock --state {self.where} {holder.get('id', '?')}`")

    def unlock(self, lock_id: str) -> dict[str, Any]:
        found = self._holder_and_etag()
        if found is None:
            raise StateError(f"the state {self.where} is not locked (no {self.where}.lock)")
        holder, etag = found
        if holder.get("id") != lock_id:
            raise StateError(f"the lock on {self.where} has id {holder.get('id')}, not "
                             f"{lock_id}; nothing was removed")
        try:  # only the lock we looked at: a new holder's lock stays
            self._call("delete_object", "DeleteObject", self.location.lock_key, IfMatch=etag)
        except AwsError as exc:
            raise StateError(f"the lock on {self.where} changed while unlocking ({exc.code}); "
                             "look again with `gatewayproxy unlock`") from None
        return holder


def _iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _expires_at(holder: dict[str, Any]) -> float:
    """When a lock's lease ends; a lock without a readable expiry is never taken over (only
    `unlock` removes it)."""
    value = holder.get("expires_at")
    return float(value) if isinstance(value, (int, float)) else float("inf")
