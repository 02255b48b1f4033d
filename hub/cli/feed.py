"""`hub feed ...`: the kiosks' change feed (docs/hub.md, "Backups").

hub feed epoch          # the feed's epoch now, as every page of changes names it
hub feed reset-epoch    # a new one: every kiosk reads the feed again from 0
"""

from __future__ import annotations

import argparse
from typing import Any

from hub.feed import epoch


def register(commands: Any) -> None:
    """Add `feed`."""
    feed = commands.add_parser(
        "feed", help="the kiosks' change feed: its epoch, and a new one after a restore"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")
    show = feed.add_parser("epoch", help="the feed's epoch now")
    show.set_defaults(handler=feed_epoch)
    reset = feed.add_parser(
        "reset-epoch",
        help="after a restore the hub cannot see by itself: every kiosk reads the feed again",
    )
    reset.set_defaults(handler=feed_reset_epoch)


def feed_epoch(args: argparse.Namespace) -> int:
    """Print the epoch."""
    print(epoch.current())
    return 0


def feed_reset_epoch(args: argparse.Namespace) -> int:
    """A new epoch, printed; the kiosks read the whole feed again at their next pull."""
    print(epoch.reset())
    print("every kiosk reads the change feed again from its start at its next pull")
    return 0
