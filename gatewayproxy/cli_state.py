"""`gatewayproxy state bootstrap|push|pull` and `gatewayproxy unlock`: the state in S3 for teams
and CI (s3_state.py), and the lock a dead machine left behind.

`unlock` follows Terraform's force-unlock: it removes a lock only when given its id (which the
refusal of a locked command prints); without one it says which lock there is and exits 1, so a
script can never remove a live lock by accident.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gatewayproxy import cli_common as common

if TYPE_CHECKING:
    from gatewayproxy.aws import Aws
    from gatewayproxy.s3_state import S3Store


@click.group("state")
def state() -> None:
    """Keep the state in S3, shared by a team and CI, locked with S3's conditional writes.

    \b
    Example:
      gatewayproxy state bootstrap s3://acme-gatewayproxy-state
      gatewayproxy state push s3://acme-gatewayproxy-state/quizapi.state.json
      # then, in gatewayproxy.toml:  [stack] state = "s3://acme-gatewayproxy-state/quizapi.state.json"
    """


def _aws(options: common.Options) -> Aws:
    """Clients for --region, else the config's region when there is a config file."""
    from gatewayproxy import config as config_module
    from gatewayproxy.session import connect

    region = None
    if options.region is None and options.config.exists():
        region = config_module.load(options.config).region
    return connect(options, region)


@state.command("bootstrap")
@click.argument("bucket_url", metavar="s3://BUCKET")
@common.stack_options
@common.handle_errors
def bootstrap(options: common.Options, bucket_url: str) -> None:
    """Create (or fix) a bucket for states: versioned, private, encrypted, TLS only.

    Runs again safely: a setting already so is not written again.

    \b
    Example:
      gatewayproxy state bootstrap s3://acme-gatewayproxy-state --region eu-west-1
    """
    from gatewayproxy.state_bucket import bootstrap as make
    from gatewayproxy.state_store import parse_s3_url

    bucket = parse_s3_url(bucket_url, "BUCKET", key_required=False).bucket
    aws = _aws(options)
    done = make(aws, bucket)
    for line in done:
        click.echo(f"{bucket}: {line}")
    click.echo(f"s3://{bucket} is a state bucket (versioned, public access blocked, encrypted, "
               f"TLS only){'' if done else '; nothing to change'}")


def _s3_store(aws: Aws, url: str, where: str) -> S3Store:
    from gatewayproxy.s3_state import S3Store
    from gatewayproxy.state_store import parse_s3_url

    return S3Store(aws, parse_s3_url(url, where))


def _stamp() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")


@state.command("push")
@click.argument("url", metavar="s3://BUCKET/KEY")
@common.stack_options
@common.handle_errors
def push(options: common.Options, url: str) -> None:
    """Move the local state to S3; the local file is renamed, not deleted.

    Refuses when the S3 object exists. The local state is --state when that is a
    path, else .gatewayproxy/<stack>.state.json beside the config.

    \b
    Example:
      gatewayproxy state push s3://acme-gatewayproxy-state/quizapi.state.json
    """
    from gatewayproxy.errors import StateError
    from gatewayproxy.state import State, default_path
    from gatewayproxy.state_store import LocalStore, is_s3

    session = common.StackSession.bare(options)
    cfg = session.config
    local = (Path(options.state) if options.state is not None and not is_s3(options.state)
             else default_path(options.config, cfg.name))
    if not local.exists():
        raise StateError(f"no local state at {local} to push")
    source = State.load(local, cfg.name)  # ours, of our version and of this stack
    target = _s3_store(_aws(options), url, "s3://BUCKET/KEY")
    with LocalStore(local).lock("state push"), target.lock("state push"):
        if target.read() is not None:
            raise StateError(f"{url} holds a state already; refusing to overwrite it (pull it, "
                             "or push to another key)")
        State(None, source.as_dict(), store=target).save()  # If-None-Match: *
        kept = local.with_name(f"{local.name}.pushed-{_stamp()}")
        os.replace(local, kept)
    click.echo(f"pushed {local} to {url}; the local file is now {kept}")
    click.echo(f"use it with: [stack] state = \"{url}\" in {options.config.name}, or "
               f"--state {url}, or GATEWAYPROXY_STATE={url}")


@state.command("pull")
@click.option("--to", "to", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write it [default: .gatewayproxy/<stack>.state.json beside the "
                   "config].")
@common.stack_options
@common.handle_errors
def pull(options: common.Options, to: Path | None) -> None:
    """Move the S3 state (--state, GATEWAYPROXY_STATE or stack.state) to a local file.

    Refuses when the local file exists. The S3 object is moved aside to
    KEY.pulled-<time> (the bucket's versioning keeps every older version too).

    \b
    Example:
      gatewayproxy state pull --state s3://acme-gatewayproxy-state/quizapi.state.json
    """
    from gatewayproxy.errors import StateError
    from gatewayproxy.s3_state import S3Store
    from gatewayproxy.state import State, default_path
    from gatewayproxy.state_store import LocalStore

    session = common.StackSession.bare(options)
    cfg, store = session.config, session.state.store
    if not isinstance(store, S3Store):
        raise StateError(f"the state {store.where} is local already; name the S3 state with "
                         "--state s3://BUCKET/KEY")
    local = to or default_path(options.config, cfg.name)
    if local.exists():
        raise StateError(f"{local} exists; refusing to overwrite it (move it away first)")
    with store.lock("state pull"):
        text = store.read()
        if text is None:
            raise StateError(f"no state at {store.where} to pull")
        State.open(store, cfg.name)  # ours, of our version and of this stack
        LocalStore(local).write(text)
        aside = _move_aside(store)
    click.echo(f"pulled {store.where} to {local}; the S3 object is now {aside}")
    click.echo("remove stack.state from the config (and GATEWAYPROXY_STATE, --state) so that "
               "commands use the local file")


def _move_aside(store: S3Store) -> str:
    """Copy the state to KEY.pulled-<time>, then delete KEY if it is still what was read."""
    from gatewayproxy.errors import AwsError
    from gatewayproxy.s3_state import explain

    location = store.location
    aside = f"{location.key}.pulled-{_stamp()}"
    try:
        store.aws.call("s3", "copy_object", Bucket=location.bucket, Key=aside,
                       CopySource={"Bucket": location.bucket, "Key": location.key},
                       CopySourceIfMatch=store.etag, IfNoneMatch="*")
    except AwsError as exc:
        raise explain(exc, "CopyObject", location.bucket, aside, store.aws.region) from None
    store.delete()
    return f"s3://{location.bucket}/{aside}"


@click.command("unlock")
@click.argument("lock_id", required=False)
@common.stack_options
@common.handle_errors
def unlock(options: common.Options, lock_id: str | None) -> None:
    """Remove the stack's lock left by a command whose machine died.

    Needs the lock's id (a locked command prints it): without it, says which lock
    there is and exits 1. Only that lock is removed, never a newer one.

    \b
    Example:
      gatewayproxy unlock --state s3://acme-gatewayproxy-state/quizapi.state.json 6f1c...
    """
    session = common.StackSession.bare(options)
    store = session.state.store
    holder = store.holder()
    if holder is None:
        click.echo(f"the state {store.where} is not locked")
        return
    if lock_id is None:
        click.echo(_describe(holder))
        state_flag = "" if store.is_local else f" --state {store.where}"
        raise click.ClickException(f"to remove it (only if that command is surely dead): "
                                   f"gatewayproxy unlock{state_flag} {holder.get('id')}")
    removed = store.unlock(lock_id)
    click.echo(f"removed the lock {lock_id} on {store.where} ({_describe(removed)})")


def _describe(holder: dict[str, Any]) -> str:
    since = f", since {holder['since']}" if holder.get("since") else ""
    expires = f", expires {holder['expires']}" if holder.get("expires") else ""
    return (f"locked by {holder.get('who', '?')}: {holder.get('what', '?')} in "
            f"{holder.get('where', '?')}{since}{expires}; lock id {holder.get('id', '?')}")
