"""``nares-nas data import|download|synth``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nares_nas.commands.common import SEED, out_file
from nares_nas.data import home
from nares_nas.data.importing import import_data
from nares_nas.data.jsonl import write_jsonl
from nares_nas.data.loading import load_table_from
from nares_nas.data.synthetic import SYNTHETIC_NAME


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="import, download or synthesise NARes data")
    sub = data.add_subparsers(dest="data_command", metavar="ACTION")
    sub.required = True

    imp = sub.add_parser("import", help="verify and index cifar10.jsonl or nares.txz into the data home")
    imp.add_argument("path", type=Path, help="the release archive nares.txz or cifar10.jsonl")
    imp.set_defaults(func=cmd_import)

    dl = sub.add_parser("download", help="download the release archive (with resume), then import it")
    dl.add_argument("--url", default=None, help="address of nares.txz (default: $NARES_NAS_URL, else the "
                                                "reference dataset repository's v1.0 release)")
    dl.add_argument("--quiet", action="store_true", help="no progress bar")
    dl.set_defaults(func=cmd_download)

    syn = sub.add_parser("synth", help="write the synthetic stand-in as a complete cifar10.jsonl")
    syn.add_argument("--out", type=out_file, required=True, help="output file (replaced if it exists)")
    syn.add_argument("--seed", type=SEED, default=0, help="stand-in seed (default 0)")
    syn.set_defaults(func=cmd_synth)


def cmd_import(args: argparse.Namespace) -> int:
    table = import_data(args.path)
    print(f"imported {len(table):,} architectures ({table.epochs} epochs each) into {home.imported_dir()}")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from nares_nas.data.download import download, resolve_url
    url = resolve_url(args.url)
    archive = download(url, home.data_home() / "downloads" / "nares.txz", progress=not args.quiet)
    table = import_data(archive)
    print(f"downloaded {url} and imported {len(table):,} architectures into {home.imported_dir()}")
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    table = load_table_from(home.SYNTHETIC, seed=args.seed)
    write_jsonl(table, args.out)
    print(f"wrote {len(table):,} {SYNTHETIC_NAME} records (seed {args.seed}, not NARes results) to {args.out}",
          file=sys.stdout)
    return 0
