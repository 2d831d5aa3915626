import pytest

from hrmcode.config import ConfigError, load_config, preset, save_config, validate_config


def test_presets_validate_and_round_trip_through_yaml(tmp_path):
    for name in ("micro", "tiny", "small", "hrm-27m"):
        cfg = validate_config({"model": {"preset": name}})
        path = tmp_path / f"{name}.yaml"
        save_config(cfg, path)
        assert load_config(path) == cfg


def test_hrm_27m_preset_is_the_paper_configuration():
    m = preset("hrm-27m", recipe="hrm")  # the paper's recipe: ACT over up to 16 segments
    assert (m.hidden, m.heads, m.expansion, m.h_layers, m.l_layers) == (512, 8, 4.0, 4, 4)
    assert (m.h_cycles, m.l_cycles, m.act.halt_max_steps) == (2, 2, 16)
    # the causal-LM recipe keeps the shape and runs one pass of the recurrence per sequence
    lm = preset("hrm-27m")
    assert (lm.recipe, lm.act.halt_max_steps, lm.act.enabled) == ("lm", 1, False)
    assert (lm.hidden, lm.h_cycles, lm.l_cycles) == (512, 2, 2)
    assert m.ffn_hidden == 1536


def test_unknown_key_is_named_with_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model:\n  preset: tiny\n  hiden: 64\n")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert str(path) in str(e.value) and "model.hiden: unknown key" in str(e.value)


def test_wrong_type_is_named():
    with pytest.raises(ConfigError, match=r"train\.lr"):
        validate_config({"train": {"lr": "fast"}})


def test_hidden_not_divisible_by_heads_is_named():
    with pytest.raises(ConfigError, match=r"hidden \(100\) must be divisible by heads \(3\)"):
        validate_config({"model": {"hidden": 100, "heads": 3}})


def test_grad_mode_is_checked():
    assert preset("tiny", grad_mode="truncated:3").truncated_k == 3
    with pytest.raises(ConfigError, match="model.grad_mode"):
        validate_config({"model": {"grad_mode": "truncated:0"}})


def test_unknown_preset_and_language_are_named():
    with pytest.raises(ConfigError, match="model.preset: unknown preset 'huge'"):
        validate_config({"model": {"preset": "huge"}})
    with pytest.raises(ConfigError, match="data.languages"):
        validate_config({"data": {"languages": ["cobol"]}})


def test_removed_data_keys_still_load_with_one_warning(tmp_path, caplog, monkeypatch):
    """data.suite and data.n_tasks never did anything (issue 17): dropped, old files still load."""
    import hrmcode.config as config

    monkeypatch.setattr(config, "_warned", set())
    path = tmp_path / "old.yaml"
    path.write_text("model:\n  preset: micro\ndata: {suite: builtin, n_tasks: 500, path: data/builtin}\n")
    with caplog.at_level("WARNING", logger="hrmcode.config"):
        cfg = load_config(path)
        load_config(path)  # a second load warns no more
    assert cfg.data.path == "data/builtin" and not hasattr(cfg.data, "suite") and not hasattr(cfg.data, "n_tasks")
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 2 and warned[0].startswith("data.n_tasks: no longer used") and "data.suite" in warned[1]
    save_config(cfg, tmp_path / "new.yaml")
    assert "suite" not in (tmp_path / "new.yaml").read_text() and load_config(tmp_path / "new.yaml") == cfg
    with pytest.raises(ConfigError, match="data.sweet: unknown key"):  # other unknown keys still fail
        validate_config({"data": {"sweet": 1}})
