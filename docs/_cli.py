"""The ``nares-nas`` parser for the CLI reference: ``build_parser()`` itself, its help texts escaped.

The help texts are plain text written for a terminal (``*_LOSS``, ``{"test_best": ...}``), while
sphinx-argparse renders them as reStructuredText; escaping its markup characters shows them as typed.
"""

from __future__ import annotations

import argparse
import re

from nares_nas.cli import build_parser

MARKUP = re.compile(r"([\\*`|]|_(?!\w))")


def escaped(text: str | None) -> str | None:
    return None if text is None else MARKUP.sub(r"\\\1", text)


def _escape(parser: argparse.ArgumentParser) -> None:
    parser.description, parser.epilog = escaped(parser.description), escaped(parser.epilog)
    for action in parser._actions:
        if action.help not in (None, argparse.SUPPRESS):
            action.help = escaped(action.help)
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                choice.help = escaped(choice.help)
            for sub in action.choices.values():
                _escape(sub)


def parser() -> argparse.ArgumentParser:
    built = build_parser()
    _escape(built)
    return built
