"""``python -m xray_core users add|remove|list``: the dashboard's sign-in credentials (salted scrypt hashes).

``users add NAME`` asks for the password twice (``--password-stdin`` reads one line instead, for scripts);
the file is ``--file`` or ``$XRAY_USERS`` (default ``~/.config/xray_core/users.json``).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from xray_core.inference.accounts import AccountError, add_user, load_users, remove_user, users_file


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "users",
        help="add, remove or list dashboard users (sign-in on a shared server)",
        description="Manage the credentials file the dashboard checks when it is served beyond this machine.",
    )
    parser.add_argument("action", choices=("add", "remove", "list"))
    parser.add_argument("name", nargs="?", default="", help="user name (add, remove)")
    parser.add_argument("--file", default=None, help="credentials file (default: $XRAY_USERS or ~/.config/...)")
    parser.add_argument("--password-stdin", action="store_true", help="add: read the password from stdin")
    parser.set_defaults(run=run)
    return parser


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise AccountError("the two passwords differ")
    return first


def run(args: argparse.Namespace) -> int:
    path = Path(args.file) if args.file else users_file()
    try:
        if args.action == "list":
            print("\n".join(sorted(load_users(path))) or f"no users in {path}")
            return 0
        if not args.name:
            raise AccountError(f"users {args.action} needs a NAME")
        if args.action == "add":
            add_user(args.name, _password(args.password_stdin), path)
        else:
            remove_user(args.name, path)
    except AccountError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{args.action}: {args.name} ({path})")
    return 0
