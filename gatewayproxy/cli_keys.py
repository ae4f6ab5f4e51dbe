"""`gatewayproxy keys`: create, list and revoke the API keys of a stack's `api_key` routes.

A key's value is printed once, on stdout, by `keys create`, and stored nowhere by gatewayproxy
(not in the state, not in logs): AWS keeps it, the user keeps the copy. Keys are found by the
stack's tag and their name tag, so `list` and `revoke` need no state of their own.
"""

from __future__ import annotations

import json
import re

import click

from gatewayproxy import cli_common as common


@click.group()
def keys() -> None:
    """API keys for the routes with auth = "api_key" (in the stack's usage plan).

    \b
    Example:
      gatewayproxy keys create mobile-app     # prints the key's value once
      gatewayproxy keys list
      gatewayproxy keys revoke mobile-app
    """



KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _check_name(name: str) -> None:
    if not KEY_NAME.fullmatch(name):
        raise click.BadParameter("use 1 to 64 letters, digits, '.', '_' or '-', starting with a "
                                 "letter or digit", param_hint="NAME")


@keys.command("create")
@click.argument("name")
@common.stack_options
@common.handle_errors
def create(options: common.Options, name: str) -> None:
    """Create an API key and print its value (the only time it is shown).

    \b
    Example:
      KEY=$(gatewayproxy keys create mobile-app)
      curl -H "x-api-key: $KEY" "$(gatewayproxy url)/answers"
    """
    from gatewayproxy.resources import api_access

    _check_name(name)
    session = common.StackSession.open(options)
    cfg = session.config
    if not cfg.uses_api_keys:
        raise click.ClickException(f"no route of stack {cfg.name} has auth = \"api_key\": "
                                   "a key would open nothing")
    with session.locked("keys create"):
        session.check_target()
        key_id, value = api_access.create_key(session.ctx, name)
    click.echo(value)
    click.echo(f"API key {name} created (id {key_id}). This is the only time its value is "
               "shown: send it in the x-api-key header.", err=True)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@common.stack_options
@common.handle_errors
def list_(options: common.Options, as_json: bool) -> None:
    """List the stack's API keys (names and ids; never their values).

    \b
    Example:
      gatewayproxy keys list
      gatewayproxy keys list --json | jq -r '.[].name'
    """
    from gatewayproxy.resources import api_access
    from gatewayproxy.steps.base import tag_value

    session = common.StackSession.open(options)
    session.check_target()
    ctx = session.ctx
    plan = api_access.find_usage_plan(ctx)
    rows = [{"name": tag_value(k.get("tags"), api_access.KEY_TAG), "id": k["id"],
             "enabled": bool(k.get("enabled")), "created": str(k.get("createdDate", "")),
             "in_usage_plan": plan is not None and api_access.key_in_plan(ctx, plan["id"], k["id"])}
            for k in api_access.list_keys(ctx)]
    rows.sort(key=lambda r: str(r["name"]))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"stack {ctx.stack} has no API keys (create one: gatewayproxy keys create NAME)")
        return
    from rich.table import Table

    table = Table(title=f"API keys of stack {ctx.stack}", title_justify="left")
    for column in ("name", "id", "enabled", "in usage plan", "created"):
        table.add_column(column)
    for row in rows:
        table.add_row(str(row["name"]), row["id"], "yes" if row["enabled"] else "no",
                      "yes" if row["in_usage_plan"] else "[red]no[/]", row["created"])
    common.console().print(table)


@keys.command("revoke")
@click.argument("name")
@common.stack_options
@common.handle_errors
def revoke(options: common.Options, name: str) -> None:
    """Delete an API key: requests that carry it are refused from then on.

    \b
    Example:
      gatewayproxy keys revoke mobile-app
    """
    from gatewayproxy.resources import api_access

    _check_name(name)
    session = common.StackSession.open(options)
    with session.locked("keys revoke"):
        session.check_target()
        key_id = api_access.revoke_key(session.ctx, name)
    click.echo(f"API key {name} ({key_id}) revoked")
