"""The in-process inventory (moto's backends) answers what the AWS API does, kind by kind, on
stacks that have every kind: so the tests that count with it count what AWS would list."""

from __future__ import annotations

from pathlib import Path

import pytest
from access_fixtures import make_function
from conftest import REGION, stack_session
from inventory import api_inventory, inventory
from test_access_crash_safety import FULL
from test_container_options import make_secrets, options

from gatewayproxy.aws import Aws
from gatewayproxy.resources import api_access

pytestmark = pytest.mark.e2e


def both(region: str = REGION) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    return inventory(region), api_inventory(region)


def test_both_inventories_agree_from_nothing_to_two_stacks_and_after_one_goes(moto_account: None,
                                                                    aws: Aws,
                                                                    tmp_path: Path) -> None:
    direct, api = both()
    assert direct == api and not any(direct.values())
    make_function()
    access = stack_session(tmp_path / "access.json", aws, FULL).engine(sequential=True)
    access.up()
    api_access.create_key(access.ctx, "k")
    text = (options(make_secrets(), capacity="mixed").replace('name = "quizapi"', 'name = "prodapi"')
            .replace('stage = "live"\n', 'stage = "live"\nvpc_link = "v1"\n'))
    production = stack_session(tmp_path / "prod.json", aws, text)
    production.engine(sequential=True).up()
    direct, api = both()
    assert direct == api
    assert [kind for kind, items in direct.items() if not items] == []  # every kind is there
    stack_session(tmp_path / "access.json", aws, FULL).engine(sequential=True).down()
    direct, api = both()
    assert direct == api and direct["usage_plans"] == [] and direct["vpcs"]
