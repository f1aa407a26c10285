"""The study's bookkeeping files read back without a run: ``study_time.json`` sums every
invocation's own entry (a damaged one is said in one line and the sum starts again), a damaged
``transfer.json`` or experiment ``result.json`` counts as missing, never a traceback."""

import json

import pytest

from coordbias._util.errors import UserValueError
from coordbias.study.runner import TIME_FILE, StudyTime
from coordbias.study.tasks import ExperimentTask, read_transfer

# What study_time.json holds before an invocation records, and the seconds of the earlier
# invocations that must still count (None: the file is damaged, said in one line, and the sum
# starts again from this invocation).
TIME_CASES = {
    "no file": (None, 0.0),
    "two earlier invocations": (
        json.dumps({"wall_time_s": 5.0, "invocations": {"a": 2.0, "b": 3.0}}),
        5.0,
    ),
    "an older version's total": (json.dumps({"wall_time_s": 7.5}), 7.5),
    "cut short": ('{"wall_time_s": 5.0, "invoc', None),
    "empty": ("", None),
    "a list": ("[1, 2]", None),
    "seconds as text": (json.dumps({"invocations": {"a": "5"}}), None),
    "negative seconds": (json.dumps({"invocations": {"a": -5.0}}), None),
    "not UTF-8": (b"\xff\xfe{", None),
}


@pytest.mark.parametrize("case", list(TIME_CASES), ids=list(TIME_CASES))
def test_the_study_time_sums_every_invocation_on_disk(case, tmp_path):
    before, earlier = TIME_CASES[case]
    path = tmp_path / TIME_FILE
    if isinstance(before, bytes):
        path.write_bytes(before)
    elif before is not None:
        path.write_text(before)
    lines = []
    clock = StudyTime(tmp_path, lines.append)
    total = clock.record()
    saved = json.loads(path.read_text())
    assert saved["wall_time_s"] == total == pytest.approx(sum(saved["invocations"].values()))
    own = saved["invocations"][clock.key]
    assert 0 <= own <= clock.own_s
    if earlier is None:
        assert len(lines) == 1 and f"{str(path)!r} is damaged" in lines[0], lines
        assert total == own
    else:
        assert lines == []
        assert total == pytest.approx(earlier + own)
    assert clock.record() >= total  # this invocation's entry grows, the others stay
    assert len(lines) <= 1  # said once


def test_two_invocations_at_once_each_keep_their_own_entry(tmp_path):
    first, second = StudyTime(tmp_path, print), StudyTime(tmp_path, print)
    first.record()
    second.record()
    total = first.record()
    entries = json.loads((tmp_path / TIME_FILE).read_text())["invocations"]
    assert set(entries) == {first.key, second.key}
    assert total == pytest.approx(sum(entries.values()))


def test_a_running_invocation_records_its_time_every_few_seconds(tmp_path):
    """What a killed invocation leaves: the record of its last beat, not of its start alone."""
    import time

    with StudyTime(tmp_path, print, every_s=0.05) as clock:
        time.sleep(0.5)
        recorded = json.loads((tmp_path / TIME_FILE).read_text())["invocations"][clock.key]
        assert recorded >= 0.2


TRANSFER_DAMAGE = {
    "cut short": '{"48": {"val_size": 4, "metr',
    "a list": "[1]",
    "an entry that is a number": '{"48": 1}',
    "an entry without metrics": '{"48": {"trained_size": 32, "val_size": 4}}',
    "metrics without miou": (
        '{"48": {"trained_size": 32, "val_size": 4, "metrics": '
        '{"recall": [1], "pixel_accuracy": 1}}}'
    ),
}


@pytest.mark.parametrize("case", list(TRANSFER_DAMAGE), ids=list(TRANSFER_DAMAGE))
def test_a_damaged_transfer_file_is_named(case, tmp_path):
    path = tmp_path / "transfer.json"
    path.write_text(TRANSFER_DAMAGE[case])
    with pytest.raises(UserValueError, match=r"transfer\.json' is damaged"):
        read_transfer(path)


@pytest.mark.parametrize("text", ['{"a": ', "[1]", ""], ids=["cut short", "a list", "empty"])
def test_an_experiment_with_a_damaged_result_is_not_done(text, tmp_path):
    task = ExperimentTask("speed", tmp_path)
    task.folder.mkdir(parents=True)
    (task.folder / "result.json").write_text('{"a": 1}')
    assert task.done
    (task.folder / "result.json").write_text(text)
    assert not task.done
