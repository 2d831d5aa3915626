import pytest

from hrmcode.records import LANGUAGES
from hrmcode.tokenizer import SPECIAL_TOKENS, CodeTokenizer, TokenizerError

SNIPPETS = {
    "python": 'def grüße(name: str) -> str:\n    """Say hi — in Deutsch."""\n    return f"Hallo, {name}! 👋"\n',
    "javascript": "function sum(xs) {\n  // Σ of all elements\n  return xs.reduce((a, b) => a + b, 0);\n}\n",
    "java": 'class Main {\n    static String café() { return "naïve résumé"; }\n}\n',
    "cpp": '#include <string>\nstd::string f() {\n\treturn "日本語 テキスト";\n}\n',
    "go": 'package main\n\nfunc Ω(n int) int {\n\treturn n * 2 // «double»\n}\n',
    "rust": 'fn main() {\n    let s = "Привет, мир";\n    println!("{}", s.len());\n}\r\n',
}


def corpus(n: int = 30) -> list[str]:
    base = [*SNIPPETS.values(), "Return the sum of the list.", "Reverse the string s."]
    return [t.replace("sum", f"sum{i % 5}") for i in range(n) for t in base]


@pytest.fixture(scope="module")
def tok() -> CodeTokenizer:
    return CodeTokenizer.train(corpus(), vocab_size=400)


def test_special_tokens_have_fixed_ids(tok):
    assert [tok.id_to_token(i) for i in range(len(SPECIAL_TOKENS))] == list(SPECIAL_TOKENS)
    assert tok.pad_id == 0 and tok.eos_id == 1
    assert tok.lang_id("rust") == SPECIAL_TOKENS.index("<rust>")
    assert tok.vocab_size == 400


@pytest.mark.parametrize("language", LANGUAGES)
def test_round_trip_is_byte_exact_after_save_and_load(tok, tmp_path, language):
    path = tmp_path / "tokenizer.json"
    tok.save(path)
    loaded = CodeTokenizer.load(path)
    text = SNIPPETS[language]
    ids = loaded.encode(text)
    assert ids == tok.encode(text)
    assert loaded.decode(ids).encode("utf-8") == text.encode("utf-8")
    # BPE merges learned on the corpus actually compress it (fewer tokens than bytes).
    assert len(ids) < len(text.encode("utf-8"))


def test_unseen_text_and_special_lookalikes_round_trip(tok):
    text = "x = '<eos><pad><python>' + \"\\u00e9 ünïcödé ✓ 𝔘\"\n\t  \n"
    ids = tok.encode(text)
    assert not set(ids) & set(range(len(SPECIAL_TOKENS)))  # raw text never yields a special id
    assert tok.decode(ids) == text


def test_causal_and_canvas_layouts(tok):
    ex = tok.encode_causal("go", "Double n.", "return n*2")
    assert ex.ids[0] == tok.lang_id("go") and ex.ids[ex.prefix_len - 1] == tok.code_id
    assert ex.ids[-1] == tok.eos_id
    assert tok.decode_code(ex.ids[ex.prefix_len:]) == "return n*2"
    cv = tok.encode_canvas("go", "Double n.", "return n*2", n_slots=32)
    assert cv.ids[: cv.prefix_len] == ex.ids[: ex.prefix_len]
    assert cv.ids[cv.prefix_len:] == [tok.mask_id] * 32
    assert cv.slot_targets[: len(ex.ids) - ex.prefix_len] == ex.ids[ex.prefix_len:]
    assert set(cv.slot_targets[len(ex.ids) - ex.prefix_len:]) == {tok.pad_id}
    with pytest.raises(ValueError, match="canvas_slots=2"):
        tok.encode_canvas("go", "p", "return n*2", n_slots=2)


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(ValueError, match="vocab_size must be"):
        CodeTokenizer.train(["abc"], vocab_size=100)
    bad = tmp_path / "tok.json"
    bad.write_text("{nope")
    with pytest.raises(TokenizerError, match=str(bad)):
        CodeTokenizer.load(bad)
    with pytest.raises(ValueError, match="unknown language 'cobol'"):
        CodeTokenizer.train(corpus(2), vocab_size=300).lang_id("cobol")
