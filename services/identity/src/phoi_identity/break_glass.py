"""`python -m phoi_identity.break_glass --username NAME --operator NAME --reason TEXT [--holder NAME] [--email E]`

Lost administrator: re-activates the ``qlcl_admin`` account `--username` with a new temporary password,
or issues one under that name if the directory has none (see `service.break_glass`). Run it in the
identity Deployment (its environment holds the database address and the Keycloak client secret):
docs/DEPLOYMENT.md, "Lost administrator: break glass". Prints the username and the temporary password
once; exit 0 when done, 2 when refused (the reason on stderr), 1 on any other failure.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from phoi_kit.db import Database

from phoi_identity.domain.errors import IdentityError
from phoi_identity.service.break_glass import Granted, Request, break_glass
from phoi_identity.service.context import IdentityContext
from phoi_identity.settings import Settings

REFUSED = 2


def parse(argv: Sequence[str] | None = None) -> Request:
    parser = argparse.ArgumentParser(
        prog="python -m phoi_identity.break_glass",
        description="Give the system an administrator again: re-activate a qlcl_admin account or issue one.",
    )
    parser.add_argument("--operator", required=True, help="your name: recorded with the reason (actor: system)")
    parser.add_argument("--reason", required=True, help="why, e.g. the ticket or the decision that asked for it")
    parser.add_argument("--username", required=True, help="the administrator account to re-activate, or a new one")
    parser.add_argument("--holder", help="a new account's holder (default: the operator)")
    parser.add_argument("--email", help="a new account's holder's email")
    args = parser.parse_args(argv)
    return Request(
        operator=args.operator, reason=args.reason, username=args.username, holder_name=args.holder, email=args.email
    )


async def run(settings: Settings, request: Request) -> Granted:
    database = Database(settings.database_url, pool_size=1)
    ctx = IdentityContext.build(settings, database, source=f"/phoi/{settings.service_name}")
    try:
        return await break_glass(ctx, request)
    finally:
        await ctx.keycloak.aclose()
        await database.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    request = parse(argv)
    try:
        granted = asyncio.run(run(Settings(), request))
    except IdentityError as refused:
        print(f"refused ({refused.code}): {refused.message}", file=sys.stderr)
        return REFUSED
    action = "issued" if granted.issued else "re-activated"
    print(f"administrator account {granted.username} {action}")
    print(f"username: {granted.username}")
    print(f"temporary password: {granted.temporary_password}")
    print("The holder signs in with it and must choose a new password at once; it is shown only here.")
    print(f"Then they review and resolve incident {granted.incident_id} (the portal's incident list).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
