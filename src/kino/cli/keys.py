"""`kino keys create|list|revoke`: manage the service's API keys in its database."""

from __future__ import annotations

import argparse
import json

from kino.cli import deployment_flags


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, parser_class=type(parser))
    create = actions.add_parser(
        "create",
        help="Create a key and print its secret (shown once).",
        description="Create an API key. The secret is printed once; only its hash is stored.",
    )
    create.add_argument("name", help="Who or what the key is for.")
    create.add_argument("--admin", action="store_true", help="See and manage every job and key.")
    create.add_argument(
        "--rate_limit", type=int, help="Job submissions a minute (default: the setting)."
    )
    create.add_argument("--max_queued", type=int, help="Queued+running jobs cap for this key.")
    listing = actions.add_parser("list", help="List keys.", description="List API keys.")
    listing.add_argument("--json", action="store_true", help="Print JSON.")
    revoke = actions.add_parser("revoke", help="Revoke a key.", description="Revoke an API key.")
    revoke.add_argument("key_id", help="The key's id (key_...), from `kino keys list`.")
    for sub in (create, listing, revoke):
        deployment_flags.add_arguments(sub)


def run(args: argparse.Namespace) -> int:
    from kino.jobs.database import connect, migrate
    from kino.service.api_keys import ApiKeyStore

    settings = deployment_flags.settings_from(args)
    engine = connect(settings.resolved_database_url)
    migrate(engine)
    keys = ApiKeyStore(engine)
    if args.action == "create":
        key, secret = keys.create(
            args.name,
            admin=args.admin,
            rate_limit_per_minute=args.rate_limit,
            max_queued=args.max_queued,
        )
        print(f"{key.id} {key.name}{' (admin)' if key.admin else ''}")
        print(secret)
    elif args.action == "list":
        listed = keys.list()
        if args.json:
            print(json.dumps([key.to_dict() for key in listed], indent=2))
        else:
            for key in listed:
                state = "revoked" if key.revoked_at is not None else "active"
                scope = "admin" if key.admin else "-"
                print(f"{key.id}\t{key.prefix}…\t{state}\t{scope}\t{key.name}")
    else:
        key = keys.revoke(args.key_id)
        print(f"{key.id} revoked")
    engine.dispose()
    return 0
