"""The command-line page holds every command of the parsers, with its exact help."""

from __future__ import annotations

import cli_page

from coordbias.cli.main import build_parser


def test_every_command_has_a_section_with_its_help():
    parser = build_parser()
    page = cli_page.cli_markdown(parser, width=100)
    paths = [path for path, _ in cli_page.walk(parser)]
    # The tree is walked to the leaves: the top-level commands and the nested actions.
    assert ("train",) in paths and ("data", "generate") in paths and ("speed", "layers") in paths
    for path, sub in cli_page.walk(parser):
        title = " ".join(("coordbias", *path))
        assert f"`{title}`\n" in page, title
        with cli_page._columns(100):
            assert sub.format_help().rstrip() in page, title


def test_subcommands_lists_each_parser_once():
    parser = build_parser()
    names = [name for name, _ in cli_page.subcommands(parser)]
    assert names == [
        "study",
        "notsoclevr-ablation",
        "benchmark",
        "data",
        "train",
        "evaluate",
        "predict",
        "speed",
    ]
    assert cli_page.subcommands(dict(cli_page.subcommands(parser))["train"]) == []
