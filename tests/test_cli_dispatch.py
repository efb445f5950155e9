"""The CLI builds only the branch of the command tree that runs (imgtool.cli._app_for),
and the size pipeline pauses the cyclic garbage collector only while it runs."""

from __future__ import annotations

import gc

import pytest
from typer.testing import CliRunner

import imgtool.cli as cli
from imgtool.size import report


@pytest.mark.parametrize("args", [["size"], ["size", "--help"], ["imx", "sign", "--help"], ["hab", "srk", "--help"],
                                  ["crc", "--help"], ["size", "why", "--help"], ["rpi"], ["imx"]])
def test_the_branch_alone_prints_what_the_whole_tree_prints(args):
    slim = cli._app_for(args)
    assert slim is not cli.app and len(slim.registered_commands) + len(slim.registered_groups) == 1
    runner = CliRunner()
    whole, part = runner.invoke(cli.app, args, prog_name="imgtool"), runner.invoke(slim, args, prog_name="imgtool")
    assert (part.exit_code, part.output) == (whole.exit_code, whole.output)
    assert "Usage: imgtool " + args[0] in part.output


@pytest.mark.parametrize("args", [[], ["--help"], ["--version"], ["no-such-command"], ["siz"]])
def test_options_and_unknown_names_get_the_whole_tree(args):
    assert cli._app_for(args) is cli.app


def test_unknown_command_still_suggests_from_every_command(capsys):
    assert cli.main(["sise", "x.elf"]) == 2
    err = capsys.readouterr().err
    assert "No such command" in err and "size" in err


def test_size_report_pauses_the_cycle_collector_and_restores_it(monkeypatch):
    seen = []

    def fake(path):
        seen.append(gc.isenabled())
        raise RuntimeError("stop")

    monkeypatch.setattr("imgtool.size.analyze_file", fake)
    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="stop"):
        report.size_report("x.elf")
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:  # a caller that paused it itself keeps it paused
        with pytest.raises(RuntimeError, match="stop"):
            report.size_report("x.elf")
        assert not gc.isenabled()
    finally:
        gc.enable()
