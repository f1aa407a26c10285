"""The C allocator of a training process: keep freed memory for reuse (:func:`keep_freed_memory`).

glibc's ``malloc`` serves a large request (from 128 KiB up, a threshold that grows to at most
32 MiB) with a fresh ``mmap`` and gives it back to the system when it is freed, and it returns
the free top of its heap too. A training step allocates and frees the same large activations
every step, so each step pays again for the kernel to map and zero those pages. The classifier
of Not-so-Clevr (activations of 16 x 64 x 64 x 64 floats, 16 MiB each) spent two fifths of
its time so: a benchmark cell of it (``nsc_class_uniform``, vanilla, seed 0, one epoch) took
20.07 s an epoch with glibc's defaults and 12.32 s with freed memory kept (0.61 of it, medians
of 3 alternating rounds), its learning curve equal bit for bit (one thread, the machine quiet:
``OMP_NUM_THREADS=1 python scripts/malloc_reuse.py``). Keeping freed memory keeps
the process at its peak size; the scheduler's tasks run in processes of their own, one per
task, so it does it there (``coordbias.scheduler.launch``).
"""

from __future__ import annotations

import ctypes
import platform
import sys

__all__ = ["keep_freed_memory"]

# mallopt(3) parameters, from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4


def keep_freed_memory() -> bool:
    """Ask glibc's ``malloc`` to keep the memory this process frees, to reuse it.

    Two ``mallopt`` settings: no ``mmap`` for large blocks (``M_MMAP_MAX`` 0: every block comes
    from the heap and stays there when freed) and no trimming of the heap (``M_TRIM_THRESHOLD``
    -1). What is computed does not change, only where memory comes from. It lasts for the
    process; call it in a process of its own (the scheduler's child processes do).

    Returns:
        Whether both settings took effect: ``False`` where the C library is not glibc (macOS,
        Windows, musl), which keep their own allocators as they are.
    """
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # this process's own C library
    if mallopt is None:  # pragma: no cover - glibc always has it
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt(_M_MMAP_MAX, 0) == 1 and mallopt(_M_TRIM_THRESHOLD, -1) == 1
