"""model.output_grad: with "present" a training step changes only the output rows of tokens its batch
is trained to write; with "all" (the default) every row gets the softmax's push-down. Both model
variants, with and without the copy head, tied and untied."""

from __future__ import annotations

import pytest
import torch

from hrmcode.config import validate_config
from hrmcode.model import build_model
from hrmcode.model.batch import Batch


def _batch() -> Batch:
    ids = torch.tensor([[1, 5, 6, 7, 8, 9, 10, 11], [1, 5, 7, 7, 9, 10, 10, 11]])
    targets = torch.full_like(ids, -100)
    targets[:, 2:-1] = ids[:, 3:]  # the code part: tokens 7..11 are targets
    return Batch(ids, targets, torch.zeros(2, dtype=torch.long), torch.full((2,), 3), torch.full((2,), 8))


@pytest.mark.parametrize("arch", ["hrm", "baseline"])
@pytest.mark.parametrize("copy_head,tied", [(False, False), (True, True)])
def test_only_rows_of_target_tokens_learn_with_present(arch: str, copy_head: bool, tied: bool) -> None:
    grads = {}
    for mode in ("all", "present"):
        torch.manual_seed(0)
        cfg = validate_config({"model": {"arch": arch, "mode": "causal", "recipe": "lm", "hidden": 32, "heads": 2,
                                         "h_layers": 1, "l_layers": 1, "vocab_size": 64, "max_seq_len": 16,
                                         "tie_embeddings": tied, "copy_head": copy_head, "output_grad": mode}},
                              source="test").model
        model = build_model(cfg).train()
        batch = _batch()
        model(model.initial_carry(batch), batch).loss.backward()
        grads[mode] = getattr(model, "core", model).lm_head.weight.grad.norm(dim=1)  # HRM: the ACT wrapper's core
    targets = [7, 8, 9, 10, 11]
    absent = [v for v in range(64) if v not in targets and v not in (1, 5, 6)]  # 1, 5, 6: inputs only
    assert (grads["all"][absent] > 0).all()  # the default pushes every row
    assert (grads["present"][absent] == 0).all()  # "present": the absent rows are left alone
    assert torch.allclose(grads["present"][targets], grads["all"][targets])  # the target rows learn as before
