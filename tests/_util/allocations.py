"""A training step's pattern of allocations, and the page faults it costs once warmed up."""

import resource


def faults_of_reused_blocks(warm_up: int = 8, cycles: int = 5) -> int:
    """Minor page faults of ``cycles`` rounds of a 48 MiB and a 4 MiB tensor, written and freed,
    after ``warm_up`` such rounds: a block glibc maps afresh (over its 32 MiB ``mmap`` ceiling)
    faults its 12,288 pages in every round; a block kept for reuse, none."""
    import torch

    def cycle() -> None:
        blocks = [torch.ones(12 << 20), torch.ones(1 << 20)]
        del blocks

    for _ in range(warm_up):
        cycle()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(cycles):
        cycle()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
