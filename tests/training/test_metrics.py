"""evaluate() and metrics_from_confusion() against hand-computed numbers."""

import json
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from coordbias.training.metrics import evaluate, metrics_from_confusion


class FixedPrediction(nn.Module):
    """Predicts the class stored in channel 0 of the image, with logit margin 10."""

    def __init__(self, num_classes):
        super().__init__()
        self.num_classes = num_classes
        self.anchor = nn.Parameter(torch.zeros(()))  # gives the module a device
        self.seen = []

    def forward(self, x):
        self.seen.append((self.training, torch.is_grad_enabled()))
        pred = x[:, 0].long()
        logits = 10.0 * nn.functional.one_hot(pred, self.num_classes).permute(0, 3, 1, 2)
        return logits.float() + self.anchor


def _batch(pred, target):
    pred = torch.tensor(pred, dtype=torch.float32)
    image = pred[None, None].expand(1, 3, *pred.shape).clone()
    return image, torch.tensor(target)[None]


# Two batches of 2 x 3 pixels, 3 classes used out of 4.
BATCHES = [
    _batch(pred=[[0, 1, 1], [1, 2, 0]], target=[[0, 0, 1], [1, 2, 2]]),
    _batch(pred=[[0, 0, 2], [2, 1, 2]], target=[[0, 0, 0], [2, 1, 1]]),
]
# Pairs (true, predicted) counted by hand from the two batches above:
# true 0: (0,0) x3, (0,1) x1, (0,2) x1; true 1: (1,1) x3, (1,2) x1; true 2: (2,2) x2, (2,0) x1.
CONFUSION = [[3, 1, 1, 0], [0, 3, 1, 0], [1, 0, 2, 0], [0, 0, 0, 0]]


def test_hand_computed_case():
    model = FixedPrediction(4)
    m = evaluate(model, BATCHES, num_classes=4)
    assert m["confusion"] == CONFUSION
    # recall = correct / true pixels: 3/5, 3/4, 2/3; class 3 absent -> 0 (zero_division=0)
    assert m["recall"] == pytest.approx([3 / 5, 3 / 4, 2 / 3, 0.0])
    # precision = correct / predicted pixels: 3/4, 3/4, 2/4
    assert m["precision"] == pytest.approx([3 / 4, 3 / 4, 2 / 4, 0.0])
    # IoU = correct / (true + predicted - correct): 3/6, 3/5, 2/5
    assert m["iou"] == pytest.approx([0.5, 0.6, 0.4, 0.0])
    # mIoU over the classes present in labels or predictions only (class 3 left out)
    assert m["miou"] == pytest.approx(0.5)
    assert m["pixel_accuracy"] == pytest.approx(8 / 12)
    assert m["support"] == [5, 4, 3, 0]
    assert m["predicted"] == [4, 4, 4, 0]
    assert m["pixels"] == 12
    # 8 correct pixels cost log(1 + 3e-10) each, 4 wrong ones 10 + log(1 + 3e-10)
    assert m["loss"] == pytest.approx(40 / 12 + math.log1p(3 * math.exp(-10)), rel=1e-6)


def test_json_serialisable_and_strict():
    m = evaluate(FixedPrediction(4), BATCHES, num_classes=4)
    again = json.loads(json.dumps(m, allow_nan=False))
    assert again == m
    assert set(m) >= {"recall", "precision", "iou", "miou", "pixel_accuracy", "confusion", "loss"}


def test_eval_mode_no_grad_and_mode_restored():
    model = FixedPrediction(4).train()
    evaluate(model, BATCHES, num_classes=4)
    assert model.seen == [(False, False), (False, False)]
    assert model.training
    model.eval()
    evaluate(model, BATCHES, num_classes=4)
    assert not model.training


def test_metrics_from_confusion_matches_hand_numbers():
    m = metrics_from_confusion(CONFUSION)
    assert m["recall"] == pytest.approx([3 / 5, 3 / 4, 2 / 3, 0.0])
    assert m["precision"] == pytest.approx([3 / 4, 3 / 4, 1 / 2, 0.0])
    assert m["iou"] == pytest.approx([0.5, 0.6, 0.4, 0.0])
    assert m["miou"] == pytest.approx(0.5)
    assert m["pixel_accuracy"] == pytest.approx(8 / 12)


def test_evaluate_agrees_with_confusion_on_a_real_model():
    from coordbias.models import create_model

    torch.manual_seed(0)
    model = create_model("fcn", width=4)
    images = torch.rand(6, 3, 16, 16)
    masks = torch.randint(0, 4, (6, 16, 16))
    loader = DataLoader(TensorDataset(images, masks), batch_size=4)
    m = evaluate(model, loader, num_classes=4)
    assert sum(map(sum, m["confusion"])) == 6 * 16 * 16 == m["pixels"]
    cross = metrics_from_confusion(m["confusion"])
    for key in ("recall", "precision", "iou"):
        assert m[key] == pytest.approx(cross[key], abs=1e-6)
    assert m["pixel_accuracy"] == pytest.approx(cross["pixel_accuracy"], abs=1e-6)
    with torch.no_grad():
        model.eval()
        expected = nn.functional.cross_entropy(model(images), masks)
    assert m["loss"] == pytest.approx(float(expected), rel=1e-5)


@pytest.mark.parametrize(
    ("batches", "match"),
    [
        ([_batch([[0, 1]], [[0, 4]])], r"mask values must lie in \[0, 4\)"),
        ([(torch.zeros(1, 3, 1, 2), torch.zeros(1, 1, 2))], r"masks must be integer"),
        ([(torch.zeros(1, 3, 1, 2), torch.zeros(1, 1, 1, 2, dtype=torch.long))], r"\(B, H, W\)"),
        ([], "no pixels"),
    ],
)
def test_bad_data_raises_clear_errors(batches, match):
    with pytest.raises(ValueError, match=match):
        evaluate(FixedPrediction(4), batches, num_classes=4)


def test_wrong_number_of_logit_channels():
    with pytest.raises(ValueError, match="num_classes=5"):
        evaluate(FixedPrediction(4), BATCHES, num_classes=5)


def test_bad_arguments():
    for bad in (0, 1, 2.0, True):
        with pytest.raises(ValueError, match=f"num_classes={bad!r}"):
            evaluate(FixedPrediction(4), BATCHES, num_classes=bad)
    with pytest.raises(TypeError, match=r"nn\.Module"):
        evaluate(lambda x: x, BATCHES)
    with pytest.raises(TypeError, match=r"\(images, masks\)"):
        evaluate(FixedPrediction(4), [torch.zeros(1, 3, 8, 8)])
    with pytest.raises(ValueError, match="square"):
        metrics_from_confusion([[1, 2, 3]])
    with pytest.raises(ValueError, match="non-negative"):
        metrics_from_confusion([[1, -2], [0, 1]])


@settings(max_examples=30, deadline=None)
@given(
    k=st.integers(2, 5),
    n=st.integers(1, 3),
    seed=st.integers(0, 2**31 - 1),
)
def test_evaluate_matches_counting_by_hand(k, n, seed):
    # Random labels and predictions; every number recomputed with plain Python counting.
    g = torch.Generator().manual_seed(seed)
    target = torch.randint(0, k, (n, 3, 4), generator=g)
    pred = torch.randint(0, k, (n, 3, 4), generator=g)
    image = pred[:, None].float().expand(n, 3, 3, 4)
    m = evaluate(FixedPrediction(k), [(image, target)], num_classes=k)
    pairs = list(zip(target.flatten().tolist(), pred.flatten().tolist()))
    for c in range(k):
        tp = sum(t == c and p == c for t, p in pairs)
        true_c = sum(t == c for t, _ in pairs)
        pred_c = sum(p == c for _, p in pairs)
        assert m["confusion"][c] == [sum(t == c and p == q for t, p in pairs) for q in range(k)]
        assert m["recall"][c] == pytest.approx(tp / true_c if true_c else 0.0)
        assert m["precision"][c] == pytest.approx(tp / pred_c if pred_c else 0.0)
        union = true_c + pred_c - tp
        assert m["iou"][c] == pytest.approx(tp / union if union else 0.0)
    present = [c for c in range(k) if any(c in pair for pair in pairs)]
    assert m["miou"] == pytest.approx(sum(m["iou"][c] for c in present) / len(present))
    assert m["pixel_accuracy"] == pytest.approx(sum(t == p for t, p in pairs) / len(pairs))
