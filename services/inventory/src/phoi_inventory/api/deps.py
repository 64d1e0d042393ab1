"""Small pieces the routes share: settings, cursors, version headers, who may read."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from phoi_kit.app import runtime_of
from phoi_kit.auth import CurrentUser, Role

from phoi_inventory.settings import Settings

READERS = (Role.UNIT_ACCOUNT, Role.QLCL_OFFICER, Role.QLCL_ADMIN, Role.AUDITOR)


def settings_of(request: Request) -> Settings:
    settings = runtime_of(request).settings
    assert isinstance(settings, Settings)
    return settings


AppSettings = Annotated[Settings, Depends(settings_of)]


def require_reader(user: CurrentUser) -> None:
    user.require(*READERS)
