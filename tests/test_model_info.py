import json

import pytest
from typer.testing import CliRunner

from hrmcode.cli import app
from hrmcode.config import preset
from hrmcode.model import build_model, count_parameters, model_info

runner = CliRunner()


def test_hrm_27m_matches_the_paper_and_the_baseline_matches_hrm():
    res = runner.invoke(app, ["model-info", "--preset", "hrm-27m", "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    hrm, base = info["hrm"]["non_embedding"], info["baseline"]["non_embedding"]
    assert abs(hrm - 27.26e6) / 27.26e6 < 0.01
    assert abs(base - hrm) / hrm < 0.02
    assert info["hrm"]["total"] > hrm  # the 16k-token embedding and lm_head come on top


@pytest.mark.parametrize("name", ["micro", "tiny", "small"])
def test_meta_device_counts_equal_a_real_build(name):
    cfg = preset(name)
    real = count_parameters(build_model(cfg))
    assert model_info(cfg)["hrm"]["total"] == real["total"]
    assert 1e6 <= real["total"] <= 5e6 if name == "tiny" else True


def test_table_output_and_unknown_preset():
    res = runner.invoke(app, ["model-info", "--preset", "tiny"])
    assert res.exit_code == 0 and "baseline" in res.output
    res = runner.invoke(app, ["model-info", "--preset", "huge"])
    assert res.exit_code == 2 and "unknown preset 'huge'" in res.output


@pytest.mark.parametrize("arch", ["hrm", "baseline", "looped"])
def test_tied_embeddings_share_one_table_counted_once_and_survive_a_checkpoint(arch, tmp_path):
    import torch

    from hrmcode.train import checkpoint as ck

    cfg = preset("micro").model_copy(update={"arch": arch, "tie_embeddings": True})
    torch.manual_seed(0)
    model = build_model(cfg)
    heads = dict(model.named_modules())
    head = next(m for n, m in heads.items() if n.endswith("lm_head"))
    embed = next(m for n, m in heads.items() if n.endswith(".embed") or n == "embed")
    assert head.weight is embed.weight
    untied = count_parameters(build_model(cfg.model_copy(update={"tie_embeddings": False})))
    tied = count_parameters(model)
    assert untied["total"] - tied["total"] == cfg.vocab_size * cfg.hidden  # one table fewer
    assert tied["non_embedding"] == untied["non_embedding"]
    assert model_info(cfg)[arch]["total"] == tied["total"]

    with torch.no_grad():
        embed.weight.add_(0.01)  # a trained-looking table: both names must carry it
    path = ck.save_checkpoint(tmp_path, 1, model.state_dict(), {}, {})
    loaded = build_model(cfg)
    missing, unexpected = loaded.load_state_dict(ck.load_checkpoint(path).model)
    assert not missing and not unexpected
    head2 = next(m for n, m in loaded.named_modules() if n.endswith("lm_head"))
    assert torch.equal(head2.weight, head.weight)
    assert head2.weight is next(m for n, m in loaded.named_modules() if n.endswith(".embed") or n == "embed").weight
