"""The state in S3: conditional writes, the leased lock, unlock, bootstrap, push/pull, and the
one-line errors. On moto's S3 (which honours If-None-Match and If-Match), no stack is built."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import boto3
import pytest
import s3_fixtures
from click.testing import CliRunner, Result
from conftest import CONFIG, REGION, Call, FakeClock
from s3_fixtures import (
    BUCKET,
    KEY,
    URL,
    WallClock,
    aws_error,
    folder,
    keys_in_bucket,
    s3_session,
    state_object,
    store,
)

from gatewayproxy import config
from gatewayproxy.aws import Aws, Target
from gatewayproxy.cli import main
from gatewayproxy.errors import AwsError, ConfigError, StateError
from gatewayproxy.s3_state import LEASE_SECONDS
from gatewayproxy.state import State, default_path
from gatewayproxy.state_store import choose, parse_s3_url

bucket, s3_fails, wall = s3_fixtures.bucket, s3_fixtures.s3_fails, s3_fixtures.wall  # fixtures



def cli(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], input="", env=env)


def s3_calls(calls: list[Call], operation: str) -> list[dict[str, object]]:
    return [c.params for c in calls if c.service == "s3" and c.operation == operation]


# -- where the state lives ---------------------------------------------------------------------
def test_the_flag_wins_over_the_env_which_wins_over_the_config(tmp_path: Path) -> None:
    default = tmp_path / ".gatewayproxy" / "x.state.json"
    assert choose(None, None, None, default, tmp_path) == (default, True)
    assert choose(None, None, "s3://cfg-bucket/k", default, tmp_path)[0] == \
        parse_s3_url("s3://cfg-bucket/k", "x")
    assert choose(None, "s3://env-bucket/k", "s3://cfg-bucket/k", default, tmp_path)[0] == \
        parse_s3_url("s3://env-bucket/k", "x")
    assert choose("s3://flag-bucket/k", "s3://env-bucket/k", "s3://cfg-bucket/k", default,
                  tmp_path)[0] == parse_s3_url("s3://flag-bucket/k", "x")
    assert choose("here.json", "s3://env-bucket/k", None, default, tmp_path) == \
        (Path("here.json"), False)
    assert choose(None, None, "states/x.json", default, tmp_path) == \
        (tmp_path / "states" / "x.json", False)  # a config's relative path: beside the config


@pytest.mark.parametrize("url, words", [
    ("s3://Team_State/k", "not a valid S3 bucket name"),
    ("s3://ab/k", "not a valid S3 bucket name"),
    ("s3://192.168.1.1/k", "not a valid S3 bucket name"),
    ("s3://team..state/k", "not a valid S3 bucket name"),
    ("s3://xn--team/k", "not a valid S3 bucket name"),
    ("s3://team-state", "has no key"),
    ("s3://team-state/", "has no key"),
    ("s3://team-state/stacks/", "ends with '/'"),
    ("s3:/team-state/k", "is not an s3://BUCKET/KEY address"),
])
def test_a_bad_state_address_in_the_config_is_one_line_naming_the_key(url: str,
                                                                      words: str) -> None:
    text = CONFIG.replace('region = "eu-west-1"', f'region = "eu-west-1"\nstate = "{url}"', 1)
    import tomllib

    with pytest.raises(ConfigError, match="stack.state") as error:
        config.parse(tomllib.loads(text))
    assert words in str(error.value)


def test_a_bad_state_flag_exits_1_before_any_call(config_file: Path) -> None:
    result = cli("status", "--state", "s3://team-state/dir/", "-c", config_file)
    assert result.exit_code == 1
    assert "--state: 's3://team-state/dir/' ends with '/'" in result.output
    assert "Traceback" not in result.output


# -- conditional writes ----------------------------------------------------------------------
def test_every_state_write_is_conditional_on_the_etag_last_seen(bucket: str, aws: Aws,
                                                                calls: list[Call]) -> None:
    state = s3_session(aws).state
    state.record("network", "vpc_id", "vpc-1")
    state.record("network", "subnet", "subnet-1")
    puts = s3_calls(calls, "put_object")
    assert puts[0]["IfNoneMatch"] == "*" and "IfMatch" not in puts[0]  # a new state
    first_etag = boto3.client("s3", region_name=REGION).head_object(Bucket=BUCKET, Key=KEY)
    assert puts[1]["IfMatch"] and puts[1]["IfMatch"] != first_etag["ETag"]  # the previous one
    again = s3_session(aws).state
    assert again.get("network", "subnet") == "subnet-1"
    again.forget("network", "subnet")
    assert s3_calls(calls, "put_object")[-1]["IfMatch"] == first_etag["ETag"]
    again.delete_file()
    assert s3_calls(calls, "delete_object")[-1]["IfMatch"]
    assert keys_in_bucket() == []


def test_a_writer_whose_state_changed_under_it_stops_and_loses_nothing(bucket: str,
                                                                       aws: Aws) -> None:
    first, second = s3_session(aws).state, s3_session(aws).state
    first.record("network", "vpc_id", "vpc-1")
    with pytest.raises(StateError, match="changed since this process read it"):
        second.record("network", "vpc_id", "vpc-2")  # it read the state before `first` wrote
    assert json.loads(state_object())["steps"]["network"]["resources"] == {"vpc_id": "vpc-1"}


def test_conflict_retry_uses_the_clock(bucket: str, aws: Aws, clock: FakeClock,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Aws.call retries ConditionalRequestConflict (it is in the store's retry codes)."""
    import botocore.exceptions

    client = aws.client("s3")
    original = client.put_object
    answers = iter([botocore.exceptions.ClientError(
        {"Error": {"Code": "ConditionalRequestConflict", "Message": "conflict"}}, "PutObject")])

    def put_object(**params: object) -> object:
        for failure in answers:
            raise failure
        return original(**params)

    monkeypatch.setattr(client, "put_object", put_object)
    s3_session(aws).state.record("network", "vpc_id", "vpc-1")
    assert clock.slept == [1.0]
    assert json.loads(state_object())["steps"]["network"]["resources"] == {"vpc_id": "vpc-1"}


def test_state_writes_go_on_in_a_cancelled_or_read_only_run(bucket: str, aws: Aws) -> None:
    """An id AWS returned is recorded even after another step failed (the run is cancelled),
    and `import` (read-only towards the stack) records what it finds, as with a local file."""
    state = s3_session(aws).state
    aws.cancel.set()
    state.record("network", "vpc_id", "vpc-1")
    aws.cancel.clear()
    aws.read_only = True
    state.record("network", "subnet", "subnet-1")
    aws.read_only = False
    assert json.loads(state_object())["steps"]["network"]["resources"] == {
        "vpc_id": "vpc-1", "subnet": "subnet-1"}


# -- the lock --------------------------------------------------------------------------------
def test_the_lock_is_created_only_if_none_and_says_who_where_what(bucket: str, aws: Aws,
                                                                  wall: WallClock,
                                                                  calls: list[Call]) -> None:
    holder = store(aws)
    holder.acquire("up")
    put = s3_calls(calls, "put_object")[0]
    assert (put["Key"], put["IfNoneMatch"]) == (f"{KEY}.lock", "*")
    body = json.loads(state_object(f"{KEY}.lock"))
    assert body["id"] == holder.lock_id and body["what"] == "up"
    assert body["where"] == os.getcwd() and "@" in body["who"]
    assert body["since"] == "2027-01-15T08:00:00Z"
    assert body["expires_at"] == wall.now + LEASE_SECONDS
    with pytest.raises(StateError) as refused:
        store(aws).acquire("down")
    assert body["who"] in str(refused.value)
    assert f"gatewayproxy unlock --state {URL} {holder.lock_id}" in str(refused.value)
    holder.release()
    assert s3_calls(calls, "delete_object")[-1]["IfMatch"]
    assert keys_in_bucket() == []


def test_two_commands_started_together_one_holds_the_lock(bucket: str, aws: Aws) -> None:
    stores = [store(aws), store(aws)]
    start = threading.Barrier(2)
    outcome: dict[int, str] = {}

    def take(i: int) -> None:
        start.wait()
        try:
            stores[i].acquire("up")
            outcome[i] = "held"
        except StateError as exc:
            outcome[i] = str(exc)

    threads = [threading.Thread(target=take, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcome.values())[0] == "held"
    winner = next(i for i, v in outcome.items() if v == "held")
    assert f"lock id {stores[winner].lock_id}" in outcome[1 - winner]


def test_the_lease_is_renewed_while_the_command_runs(bucket: str, aws: Aws,
                                                     wall: WallClock, calls: list[Call]) -> None:
    renewals = iter(range(2))  # two renewals, then the thread waits for the command's end
    renewed_twice = threading.Event()

    def renew_wait(stop: threading.Event, seconds: float) -> bool:
        if next(renewals, None) is None:
            renewed_twice.set()
            return stop.wait()
        wall.now += seconds
        return False

    holder = store(aws)
    holder._renew_wait = renew_wait
    started = wall.now
    with holder.lock("up"):
        assert renewed_twice.wait(10)
        body = json.loads(state_object(f"{KEY}.lock"))
    assert body["expires_at"] == started + 2 * holder.renew_every + LEASE_SECONDS
    puts = s3_calls(calls, "put_object")
    assert puts[0]["IfNoneMatch"] == "*"
    assert all(p["IfMatch"] for p in puts[1:]) and len(puts) == 3  # on the lock's last ETag
    assert keys_in_bucket() == []


def test_an_expired_lock_is_taken_over_and_only_one_taker_wins(bucket: str, aws: Aws,
                                                               wall: WallClock) -> None:
    dead = store(aws)
    dead.acquire("up")
    with pytest.raises(StateError):
        store(aws).acquire("up")  # alive: refused
    wall.now += LEASE_SECONDS + 1
    first, second = store(aws), store(aws)
    found = first._holder_and_etag()
    assert found is not None
    expired, etag = found
    assert first._take_over({"id": "first", "who": "a@x", "where": "/a", "what": "up"}, etag,
                            expired)
    assert not second._take_over({"id": "second", "who": "b@y", "where": "/b", "what": "up"},
                                 etag, expired)  # conditional on the expired lock's ETag
    assert json.loads(state_object(f"{KEY}.lock"))["id"] == "first"
    assert not dead.renew()  # the dead process, had it woken up, lost its lock
    with pytest.raises(StateError, match="taken over"):
        dead.write("{}")
    dead.release()  # removes nothing of the new holder's
    assert json.loads(state_object(f"{KEY}.lock"))["id"] == "first"


def test_a_write_after_a_taken_over_lock_is_refused_and_loses_nothing(bucket: str, aws: Aws,
                                                                      wall: WallClock) -> None:
    slow = s3_session(aws)
    with slow.locked("up"):
        slow.state.record("network", "vpc_id", "vpc-1")
        wall.now += LEASE_SECONDS + 1  # it hung past its lease
        taker = s3_session(aws)
        with taker.locked("up"):
            taker.state.record("network", "subnet", "subnet-1")
            with pytest.raises(StateError, match="changed since this process read it"):
                slow.state.record("network", "vpc_id", "vpc-2")
    assert json.loads(state_object())["steps"]["network"]["resources"] == {
        "vpc_id": "vpc-1", "subnet": "subnet-1"}
    assert keys_in_bucket() == [KEY]  # the taker released its lock; the slow one removed none


# -- unlock ----------------------------------------------------------------------------------
def test_unlock_needs_the_lock_id_and_removes_only_that_lock(bucket: str, aws: Aws,
                                                             config_file: Path) -> None:
    dead = store(aws)
    dead.acquire("up")
    shown = cli("unlock", "--state", URL, "-c", config_file)
    assert shown.exit_code == 1
    assert f"lock id {dead.lock_id}" in shown.output
    assert f"gatewayproxy unlock --state {URL} {dead.lock_id}" in shown.output
    wrong = cli("unlock", "--state", URL, "not-the-id", "-c", config_file)
    assert wrong.exit_code == 1 and f"has id {dead.lock_id}, not not-the-id" in wrong.output
    assert keys_in_bucket() == [f"{KEY}.lock"]
    done = cli("unlock", "--state", URL, str(dead.lock_id), "-c", config_file)
    assert done.exit_code == 0, done.output
    assert keys_in_bucket() == []
    assert "is not locked" in cli("unlock", "--state", URL, "-c", config_file).output


def test_unlock_works_for_a_local_state_too(config_file: Path) -> None:
    lock = default_path(config_file, "quizapi").with_suffix(".lock")
    lock.parent.mkdir(parents=True)
    lock.write_text(json.dumps({"pid": os.getpid(), "command": "up", "id": "abc"}))
    shown = cli("unlock", "-c", config_file)
    assert shown.exit_code == 1 and "gatewayproxy unlock abc" in shown.output
    assert cli("unlock", "abc", "-c", config_file).exit_code == 0
    assert not lock.exists()


# -- errors: one line each -------------------------------------------------------------------
def test_no_such_bucket_is_one_line(moto_account: None, config_file: Path) -> None:
    result = cli("status", "--state", "s3://no-such-state-bucket/k.json", "-c", config_file)
    assert result.exit_code == 1
    assert "no S3 bucket 'no-such-state-bucket'" in result.output
    assert "gatewayproxy state bootstrap s3://no-such-state-bucket" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("error, words", [
    (aws_error("GetObject", "AccessDenied", "Access Denied"),
     f"access denied: s3:GetObject on {URL} (AccessDenied): the credentials need s3:GetObject "
     f"on arn:aws:s3:::{BUCKET}/{KEY}"),
    (aws_error("GetObject", "PermanentRedirect", "use the endpoint", region="us-west-2"),
     f"the S3 bucket '{BUCKET}' is in us-west-2, not {REGION}"),
    (aws_error("GetObject", "AuthorizationHeaderMalformed", "expecting 'ap-south-1'",
               region="ap-south-1"), f"the S3 bucket '{BUCKET}' is in ap-south-1"),
])
def test_s3_errors_are_one_line_naming_the_action_and_object(
        bucket: str, config_file: Path, s3_fails: dict[str, AwsError], error: AwsError,
        words: str) -> None:
    s3_fails["get_object"] = error
    result = cli("status", "--state", URL, "-c", config_file)
    assert result.exit_code == 1
    assert words in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("body, words", [
    (b"\x89PNG\r\n", "is not a gatewayproxy state file"),
    (b'{"terraform_version": "1.10.0"}', "is not a gatewayproxy state file"),
    (b'{"format": "gatewayproxy-state", "version": 2, "stack": "quizapi", "steps": {}}',
     "has version 2; this gatewayproxy reads version 1"),
])
def test_a_state_object_not_ours_is_refused_and_left_untouched(bucket: str, config_file: Path,
                                                               body: bytes, words: str) -> None:
    boto3.client("s3", region_name=REGION).put_object(Bucket=BUCKET, Key=KEY, Body=body)
    result = cli("up", "--state", URL, "-c", config_file)
    assert result.exit_code == 1
    assert f"{URL}" in result.output and words in result.output
    assert state_object() == body and keys_in_bucket() == [KEY]  # no lock left either


# -- bootstrap -------------------------------------------------------------------------------
def bootstrap(*args: str) -> Result:
    return cli("state", "bootstrap", *args)


def bucket_writes(calls: list[Call]) -> list[str]:
    return [c.operation for c in calls if c.service == "s3"
            and not c.operation.startswith(("get_", "list_", "head_"))]


def test_bootstrap_makes_a_state_bucket_and_a_second_run_writes_nothing(
        moto_account: None, calls: list[Call]) -> None:
    first = bootstrap("s3://new-state-bucket", "--region", REGION)
    assert first.exit_code == 0, first.output
    # moto's new buckets have no default encryption (AWS's have SSE-S3 since January 2023).
    assert bucket_writes(calls) == ["create_bucket", "put_bucket_versioning",
                                    "put_public_access_block", "put_bucket_encryption",
                                    "put_bucket_policy"]
    create = next(c.params for c in calls if c.operation == "create_bucket")
    assert create["CreateBucketConfiguration"] == {"LocationConstraint": REGION}
    s3 = boto3.client("s3", region_name=REGION)
    assert s3.get_bucket_versioning(Bucket="new-state-bucket")["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket="new-state-bucket")
    assert all(block["PublicAccessBlockConfiguration"].values())
    rules = s3.get_bucket_encryption(Bucket="new-state-bucket")[
        "ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    policy = json.loads(s3.get_bucket_policy(Bucket="new-state-bucket")["Policy"])
    assert policy["Statement"] == [{
        "Sid": "gatewayproxyDenyInsecureTransport", "Effect": "Deny", "Principal": "*",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::new-state-bucket", "arn:aws:s3:::new-state-bucket/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]
    assert all(c.params.get("ExpectedBucketOwner") == "123456789012" for c in calls
               if c.service == "s3" and c.operation != "create_bucket")

    calls.clear()
    second = bootstrap("s3://new-state-bucket", "--region", REGION)
    assert second.exit_code == 0, second.output
    assert bucket_writes(calls) == []
    assert "nothing to change" in second.output


def test_bootstrap_converges_a_missing_setting_and_keeps_others_statements(
        moto_account: None, calls: list[Call]) -> None:
    assert bootstrap("s3://new-state-bucket", "--region", REGION).exit_code == 0
    s3 = boto3.client("s3", region_name=REGION)
    s3.delete_public_access_block(Bucket="new-state-bucket")
    theirs = {"Sid": "TheirAudit", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket",
              "Resource": "arn:aws:s3:::new-state-bucket"}
    s3.put_bucket_policy(Bucket="new-state-bucket", Policy=json.dumps(
        {"Version": "2012-10-17", "Statement": [theirs]}))
    calls.clear()
    again = bootstrap("s3://new-state-bucket", "--region", REGION)
    assert again.exit_code == 0, again.output
    assert bucket_writes(calls) == ["put_public_access_block", "put_bucket_policy"]
    statements = json.loads(s3.get_bucket_policy(Bucket="new-state-bucket")["Policy"])["Statement"]
    assert [s["Sid"] for s in statements] == ["TheirAudit", "gatewayproxyDenyInsecureTransport"]


def test_bootstrap_in_us_east_1_sends_no_location_constraint(moto_account: None,
                                                             calls: list[Call]) -> None:
    assert bootstrap("s3://virginia-state", "--region", "us-east-1").exit_code == 0
    create = next(c.params for c in calls if c.operation == "create_bucket")
    assert "CreateBucketConfiguration" not in create


@pytest.mark.parametrize("operation, code", [
    ("get_bucket_location", "AccessDenied"),  # ExpectedBucketOwner: another account's: 403
    ("create_bucket", "BucketAlreadyExists"),
])
def test_bootstrap_refuses_a_bucket_of_another_account(moto_account: None,
                                                       s3_fails: dict[str, AwsError],
                                                       calls: list[Call], operation: str,
                                                       code: str) -> None:
    if operation == "create_bucket":
        s3_fails["get_bucket_location"] = aws_error("GetBucketLocation", "NoSuchBucket")
    s3_fails[operation] = aws_error(operation, code)
    result = bootstrap("s3://someone-elses-bucket", "--region", REGION)
    assert result.exit_code == 1
    assert "'someone-elses-bucket' exists and belongs to another account" in result.output
    assert [c for c in calls if c.operation.startswith("put_")] == []


def test_bootstrap_refuses_a_bucket_in_another_region(moto_account: None) -> None:
    boto3.client("s3", region_name="us-west-2").create_bucket(
        Bucket="west-state", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    result = bootstrap("s3://west-state", "--region", REGION)
    assert result.exit_code == 1
    assert "'west-state' is in us-west-2, not eu-west-1" in result.output


def test_bootstrap_takes_a_bucket_only(moto_account: None) -> None:
    result = bootstrap("s3://new-state-bucket/key", "--region", REGION)
    assert result.exit_code == 1 and "give the bucket only" in result.output


# -- push and pull ---------------------------------------------------------------------------
def test_push_moves_a_local_state_to_s3_and_pull_brings_it_back(bucket: str,
                                                                tmp_path: Path) -> None:
    here = folder(tmp_path, "laptop")
    local = default_path(here, "quizapi")
    State.load(local, "quizapi").record("network", "vpc_id", "vpc-1")
    pushed = cli("state", "push", URL, "-c", here)
    assert pushed.exit_code == 0, pushed.output
    assert not local.exists()
    kept = [p.name for p in local.parent.iterdir()]
    assert len(kept) == 1 and kept[0].startswith("quizapi.state.json.pushed-")
    assert json.loads(state_object())["steps"]["network"]["resources"] == {"vpc_id": "vpc-1"}
    assert keys_in_bucket() == [KEY]  # the lock is gone

    State.load(local, "quizapi").record("network", "vpc_id", "vpc-other")
    refused = cli("state", "push", URL, "-c", here)
    assert refused.exit_code == 1 and "holds a state already" in refused.output
    local.unlink()

    pulled = cli("state", "pull", "--state", URL, "-c", here)
    assert pulled.exit_code == 0, pulled.output
    assert State.load(local, "quizapi").get("network", "vpc_id") == "vpc-1"
    aside = [k for k in keys_in_bucket() if k != KEY]
    assert KEY not in keys_in_bucket() and len(aside) == 1 and ".pulled-" in aside[0]
    again = cli("state", "pull", "--state", URL, "-c", here)
    assert again.exit_code == 1 and "exists; refusing to overwrite it" in again.output


def test_pull_needs_an_s3_state(config_file: Path) -> None:
    result = cli("state", "pull", "-c", config_file)
    assert result.exit_code == 1 and "is local already" in result.output


def test_the_region_of_a_bucket_error_names_it(moto_account: None) -> None:
    """AwsError carries S3's x-amz-bucket-region (or the error's Region)."""
    aws = Aws(Target(region=REGION))
    client = aws.client("s3")
    import botocore.exceptions

    def fail(**_: object) -> None:
        raise botocore.exceptions.ClientError({"Error": {"Code": "PermanentRedirect"},
                                               "ResponseMetadata": {"HTTPHeaders": {
                                                   "x-amz-bucket-region": "sa-east-1"}}},
                                              "GetObject")

    client.get_object = fail
    with pytest.raises(AwsError) as error:
        aws.call("s3", "get_object", Bucket="b", Key="k")
    assert error.value.bucket_region == "sa-east-1"
