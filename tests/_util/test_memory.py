"""Freed memory kept for reuse: a warmed-up allocation pattern stops faulting pages, and a C
library other than glibc is left as it is."""

import platform
import subprocess
import sys

import pytest

from coordbias._util import memory

_GLIBC = sys.platform == "linux" and platform.libc_ver()[0] == "glibc"

_PROBE = """
import sys
from coordbias._util.memory import keep_freed_memory
from tests._util.allocations import faults_of_reused_blocks
kept = keep_freed_memory() if sys.argv[1] == "keep" else None
print(kept, faults_of_reused_blocks())
"""


def _probe(mode: str) -> tuple[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True
    )
    kept, faults = done.stdout.split()
    return kept, int(faults)


@pytest.mark.skipif(not _GLIBC, reason="the settings are glibc's; elsewhere nothing is changed")
def test_kept_memory_is_reused_without_faulting_its_pages_again():
    _, as_glibc_keeps_it = _probe("plain")
    kept, faults = _probe("keep")
    assert kept == "True"
    assert as_glibc_keeps_it >= 5 * 12_288  # the 48 MiB block mapped afresh in every round
    assert faults < as_glibc_keeps_it / 20


def test_another_c_library_is_left_as_it_is(monkeypatch):
    monkeypatch.setattr(platform, "libc_ver", lambda: ("", ""))
    called = []
    monkeypatch.setattr(memory.ctypes, "CDLL", lambda *args: called.append(args))
    assert memory.keep_freed_memory() is False
    assert called == []
