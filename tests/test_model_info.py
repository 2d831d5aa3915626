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
