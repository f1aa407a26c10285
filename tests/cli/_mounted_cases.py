"""Run command lines through ``coordbias.cli.main.main`` and print, as JSON, each one's exit
status and stderr (see test_mounts.py, which runs this inside a private mount namespace).

Usage: ``python _mounted_cases.py '[["data", "show", ...], ...]'``
"""

import contextlib
import io
import json
import sys
import traceback

from coordbias.cli.main import main


def _one(argv: list[str]) -> dict:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except BaseException:  # a traceback: the test fails on it
            traceback.print_exc()
            code = None
    return {"argv": argv, "code": code, "stderr": err.getvalue()}


if __name__ == "__main__":
    print(json.dumps([_one(argv) for argv in json.loads(sys.argv[1])]))
