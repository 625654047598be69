"""The CLI reference page, generated from the ``scorewatch`` argparse parser.

The parser is the one ``scorewatch`` runs (``scorewatch.cli.build_parser``), so the commands that
come from the ``scorewatch.commands`` entry-point group (``demo``, ``local``) are included.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

from reference_tables import anchor, code, prose, table

from scorewatch import cli

USAGE_WIDTH = 100


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def commands(
    parser: argparse.ArgumentParser | None = None,
) -> Iterator[tuple[str, argparse.ArgumentParser, str]]:
    """(prog, parser, one-line help) of the root and every sub-command, depth first."""
    parser = parser or cli.build_parser()

    def walk(
        p: argparse.ArgumentParser, help_text: str
    ) -> Iterator[tuple[str, argparse.ArgumentParser, str]]:
        yield p.prog, p, help_text
        sub = _subparsers(p)
        if sub is None:
            return
        helps = {a.dest: a.help or "" for a in sub._choices_actions}
        for name, child in sub.choices.items():
            yield from walk(child, helps.get(name, ""))

    yield from walk(parser, parser.description or "")


def _usage(parser: argparse.ArgumentParser) -> str:
    formatter = argparse.HelpFormatter(parser.prog, width=USAGE_WIDTH)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups, prefix="")
    return formatter.format_help().strip()


def _argument(action: argparse.Action) -> str:
    if not action.option_strings:
        return code(action.metavar or action.dest)
    if action.nargs == 0:
        return ", ".join(code(o) for o in action.option_strings)
    metavar = action.metavar or (
        "{" + ",".join(map(str, action.choices)) + "}" if action.choices else action.dest.upper()
    )
    return ", ".join(code(f"{o} {metavar}") for o in action.option_strings)


def _default(action: argparse.Action) -> str:
    if action.required:
        return "required"
    if action.nargs == 0 or action.default in (None, argparse.SUPPRESS, ""):
        return ""
    return code(action.default)


def arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The parser's documented arguments (help and sub-command selectors left out)."""
    return [
        a
        for a in parser._actions
        if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))
        and a.help != argparse.SUPPRESS
    ]


def _sentence(text: str) -> str:
    text = text.strip()
    return prose(text[:1].upper() + text[1:] + ("" if text.endswith(".") else "."))


def _description(action: argparse.Action) -> str:
    text = prose(action.help or "")
    if action.choices and action.metavar:  # choices hidden behind a metavar
        text += f" (one of {', '.join(code(c) for c in action.choices)})"
    return text


def exit_codes() -> list[tuple[int, str, str]]:
    """(code, ``EXIT_*`` name, meaning) of ``scorewatch.cli``, by code.

    Meanings come from the module docstring's ``0 success · 1 drift detected · ...`` line.
    """
    doc = " ".join((cli.__doc__ or "").split()).replace("``", "`")
    meanings = {
        int(c): m.strip().rstrip(".") for c, m in re.findall(r"(?:^|· |: )(\d+) ([^·]+?)(?= ·|$)", doc)
    }
    found = [(v, n) for n, v in vars(cli).items() if n.startswith("EXIT_") and isinstance(v, int)]
    return [(v, n, meanings.get(v, "")) for v, n in sorted(found)]


def render(parser: argparse.ArgumentParser | None = None) -> str:
    found = list(commands(parser))
    ids = {prog: anchor(prog) for prog, _, _ in found}
    out = [
        "# CLI reference\n",
        "Generated from the `scorewatch` argument parser when the site is built: every command and "
        "option, including the commands contributed through the `scorewatch.commands` entry-point "
        "group. Examples are in [the CLI guide](../cli.md); every command also has `--help`.\n",
    ]
    for prog, p, help_text in found:
        out.append(f"## `{prog}` {{#{ids[prog]}}}\n")
        if p is found[0][1]:
            out.append("Exit codes, stable for scripts (errors are one line on stderr):\n")
            out.append(
                table(("code", "meaning", "constant"), [(code(v), m, code(n)) for v, n, m in exit_codes()])
            )
        else:
            if help_text:
                out.append(_sentence(help_text) + "\n")
            if p.description and p.description != help_text:
                out.append(prose(p.description) + "\n")
        out.append(f"```text\n{_usage(p)}\n```\n")
        sub = _subparsers(p)
        if sub is not None:
            helps = {a.dest: a.help or "" for a in sub._choices_actions}
            rows = [
                (f"[`{c.prog}`](#{ids[c.prog]})", prose(helps.get(n, ""))) for n, c in sub.choices.items()
            ]
            out.append(table(("command", "what it does"), rows))
        args = arguments(p)
        if args:
            rows = [(_argument(a), _default(a), _description(a)) for a in args]
            out.append(table(("argument", "default", "description"), rows))
    return "\n".join(out)
