"""Train one run and SIGKILL this very process at a chosen point (see test_kill_resume.py).

Usage: ``python _killed_run.py CONFIG_JSON POINT`` where POINT is

- ``step:N``: right after optimizer step N (mid-epoch: the rows logged since the last checkpoint
  are on disk, the checkpoint is older);
- ``saving:E``: while the checkpoint of epoch E is being saved, after every row of that epoch was
  written and before the checkpoint file is (the rows on disk run ahead of ``last.ckpt``);
- ``none``: run to the end.
"""

import json
import os
import signal
import sys

import torch

from coordbias.training import TrainConfig, train
from coordbias.training.module import SegmentationModule


def _kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    torch.set_num_threads(1)
    config = TrainConfig(**json.loads(sys.argv[1]))
    kind, _, value = sys.argv[2].partition(":")
    if kind == "step":

        def on_train_batch_end(self, outputs, batch, batch_idx):
            if self.trainer.global_step >= int(value):
                _kill()

        SegmentationModule.on_train_batch_end = on_train_batch_end
    elif kind == "saving":
        save = SegmentationModule.on_save_checkpoint

        def on_save_checkpoint(self, checkpoint):
            save(self, checkpoint)
            if self.trainer.current_epoch == int(value):
                _kill()

        SegmentationModule.on_save_checkpoint = on_save_checkpoint
    train(config)


if __name__ == "__main__":
    main()
