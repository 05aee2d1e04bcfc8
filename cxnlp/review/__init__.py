"""`cxnlp review`: a local web app where analysts check and correct tagged feedback.

    cxnlp review                                  # http://127.0.0.1:8765/
    cxnlp review --host 0.0.0.0 --token SECRET    # reachable from the network: a token is required

The corrections land in the store's ``corrections`` table (an append-only audit trail) and
``cxnlp train --corrections`` learns from them. DuckDB lets one process write a store file at a time: the
app closes the file after ``--idle-release`` seconds without requests so the nightly run can write it.
"""
from __future__ import annotations

import argparse
import os
import sys

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def cmd_review(args: argparse.Namespace) -> int:
    from cxnlp.review.app import BindError, check_bind, is_local_host

    token = args.token or os.environ.get("CXNLP_REVIEW_TOKEN") or None
    try:
        check_bind(args.host, token)
    except BindError as e:
        print(f"cxnlp: error: {e}", file=sys.stderr)
        return 2
    if args.store:
        store_path = args.store
    else:
        from cxnlp.config import load_settings

        store_path = load_settings(getattr(args, "root", None)).path("store", "path")
    import uvicorn

    from cxnlp.review.app import create_app

    hosts = None
    if token is None:
        hosts = ["127.0.0.1", "localhost", "::1", "[::1]"]
        if is_local_host(args.host) and args.host not in hosts:
            hosts.append(args.host)
    print("opening the store (the first start builds the review index: about 20 s per million items) …",
          file=sys.stderr)
    app = create_app(store_path, token=token, analyst=args.analyst, allowed_hosts=hosts,
                     idle_release=args.idle_release or None)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown}:{args.port}/"
    print(f"cxnlp review on {url}" + (f"  (open {url}?token=… or send 'Authorization: Bearer …')" if token else ""),
          file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", proxy_headers=False,
                server_header=False)
    return 0


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Register `review` on the cxnlp command line's subparsers."""
    s = subparsers.add_parser("review", help="web app to check and correct tagged feedback (127.0.0.1 by default)")
    s.add_argument("--host", default=DEFAULT_HOST, help="bind address (default 127.0.0.1; others need a token)")
    s.add_argument("--port", type=int, default=DEFAULT_PORT)
    s.add_argument("--token", help="required to reach the app (default: $CXNLP_REVIEW_TOKEN); needed for "
                                   "non-local bind addresses")
    s.add_argument("--store", help="a DuckDB store other than the configured one")
    s.add_argument("--analyst", help="name recorded with corrections until the analyst sets one in the app "
                                     "(default: $CXNLP_ANALYST or the OS user)")
    s.add_argument("--idle-release", type=float, default=120, metavar="SECONDS",
                   help="close the store after this long without requests so the nightly run can write it; "
                        "the next request reopens it (default 120; 0 keeps it open)")
    s.set_defaults(func=cmd_review)
    return s


__all__ = ["add_cli", "cmd_review"]
