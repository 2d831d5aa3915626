"""Byte-level BPE shared by all six languages, trained offline with HF ``tokenizers``.

Byte-level means every UTF-8 byte has a token, so any text (non-ASCII included) encodes and decodes
back byte-exact; BPE merges learned from the training corpus make common code fragments one token.

Special tokens get the first ids, in a fixed order (``<pad>`` is always 0), so a model's
embedding rows for them do not move when the tokenizer is retrained:
    <pad> <eos> <prompt> <code> <mask> <python> <javascript> <java> <cpp> <go> <rust>

Raw text never produces a special id: a program that contains the string ``<eos>`` encodes it as
ordinary bytes (``encode_special_tokens``), so specials enter a sequence only by id, via
:meth:`CodeTokenizer.encode_causal` / :meth:`CodeTokenizer.encode_canvas`.

Sequence layouts (the model's contract, see ``hrmcode.model``):
  causal: ``<lang> prompt… <code> code… <eos>``; the prefix (bidirectional) is everything up to and
          including ``<code>``; loss on the code tokens and ``<eos>``.
  canvas: ``<lang> prompt… <code> | N slots``; slot inputs are ``<mask>``; slot targets are
          ``code… <eos> <pad>…`` (EOS and PAD are real targets).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from hrmcode.records import LANGUAGES, atomic_write_text

PAD, EOS, PROMPT, CODE, MASK = "<pad>", "<eos>", "<prompt>", "<code>", "<mask>"
SPECIAL_TOKENS: tuple[str, ...] = (PAD, EOS, PROMPT, CODE, MASK, *(f"<{lang}>" for lang in LANGUAGES))
MIN_VOCAB = 256 + len(SPECIAL_TOKENS)


class TokenizerError(ValueError):
    """A tokenizer file that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class CausalExample:
    """Token ids of one causal-mode sequence and where its prefix ends."""

    ids: list[int]
    prefix_len: int  # positions [0, prefix_len) are the prompt (attend bidirectionally)


@dataclass(frozen=True)
class CanvasExample:
    """Token ids of one canvas-mode sequence: prompt, then slots; targets for the slots."""

    ids: list[int]  # prompt ids followed by n_slots <mask> ids
    prefix_len: int  # the prompt length; slots are ids[prefix_len:]
    slot_targets: list[int]  # n_slots ids: code… <eos> <pad>…


def _new_tokenizer() -> Tokenizer:
    tok = Tokenizer(models.BPE())
    # add_prefix_space=False keeps the round trip byte-exact (no space invented at the start).
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return tok


class CodeTokenizer:
    """A trained byte-level BPE with the project's special tokens at fixed ids."""

    def __init__(self, tok: Tokenizer) -> None:
        self._tok = tok
        # Raw text must never turn into a special id (see the module docstring).
        self._tok.encode_special_tokens = True
        ids = {s: tok.token_to_id(s) for s in SPECIAL_TOKENS}
        wrong = [f"{s} (id {ids[s]}, expected {i})" for i, s in enumerate(SPECIAL_TOKENS) if ids[s] != i]
        if wrong:
            raise TokenizerError(f"special tokens at wrong ids: {', '.join(wrong)}")
        self.pad_id, self.eos_id, self.prompt_id, self.code_id, self.mask_id = (ids[s] for s in SPECIAL_TOKENS[:5])
        # The languages this tokenizer was trained with (a language registered later has no token).
        self.lang_ids: dict[str, int] = {lang: ids[f"<{lang}>"] for lang in LANGUAGES if f"<{lang}>" in ids}

    # ---- building --------------------------------------------------------------------------------

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int, min_frequency: int = 2) -> CodeTokenizer:
        """Learn BPE merges from an iterator of strings; ``vocab_size`` counts specials and bytes."""
        if vocab_size < MIN_VOCAB:
            raise ValueError(f"vocab_size must be ≥ {MIN_VOCAB} (256 bytes + {len(SPECIAL_TOKENS)} specials), "
                             f"got {vocab_size}")
        tok = _new_tokenizer()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=list(SPECIAL_TOKENS),
            # All 256 bytes up front: text never seen in training still encodes.
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tok.train_from_iterator(_strings(texts), trainer=trainer)
        return cls(tok)

    @classmethod
    def load(cls, path: str | Path) -> CodeTokenizer:
        path = Path(path)
        try:
            tok = Tokenizer.from_file(str(path))
        except Exception as e:  # tokenizers raises a bare Exception on bad JSON
            raise TokenizerError(f"{path}: not a tokenizer.json: {e}") from None
        try:
            return cls(tok)
        except TokenizerError as e:
            raise TokenizerError(f"{path}: {e}") from None

    def save(self, path: str | Path) -> None:
        atomic_write_text(path, self._tok.to_str(pretty=False))

    # ---- encoding --------------------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        return self._tok.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        """Text → ids; never produces a special id."""
        return self._tok.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self._tok.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids: Iterable[int], skip_special: bool = True) -> str:
        """Ids → text. With ``skip_special`` the special tokens are dropped (bytes are kept exact)."""
        return self._tok.decode(list(ids), skip_special_tokens=skip_special)

    def id_to_token(self, i: int) -> str | None:
        return self._tok.id_to_token(i)

    def lang_id(self, language: str) -> int:
        if language not in self.lang_ids:
            raise ValueError(f"unknown language {language!r}: expected one of {', '.join(self.lang_ids)}")
        return self.lang_ids[language]

    def prompt_ids(self, language: str, prompt: str) -> list[int]:
        """The shared prefix of both layouts: ``<lang> prompt… <code>``."""
        return [self.lang_id(language), *self.encode(prompt), self.code_id]

    def encode_causal(self, language: str, prompt: str, code: str | None = None) -> CausalExample:
        """``<lang> prompt… <code> [code… <eos>]``; without ``code`` only the prefix (for generation)."""
        prefix = self.prompt_ids(language, prompt)
        tail = [] if code is None else [*self.encode(code), self.eos_id]
        return CausalExample(ids=prefix + tail, prefix_len=len(prefix))

    def encode_canvas(self, language: str, prompt: str, code: str | None, n_slots: int) -> CanvasExample:
        """``<lang> prompt… <code>`` + ``n_slots`` masks; targets ``code… <eos> <pad>…``.

        Raises ValueError when the code (plus <eos>) does not fit in ``n_slots``.
        """
        prefix = self.prompt_ids(language, prompt)
        code_ids = [] if code is None else [*self.encode(code), self.eos_id]
        if len(code_ids) > n_slots:
            raise ValueError(f"code is {len(code_ids)} tokens with <eos>, more than canvas_slots={n_slots}")
        targets = code_ids + [self.pad_id] * (n_slots - len(code_ids))
        return CanvasExample(ids=prefix + [self.mask_id] * n_slots, prefix_len=len(prefix), slot_targets=targets)

    def decode_code(self, ids: Iterable[int]) -> str:
        """Generated code ids → text, stopping at the first <eos> (or <pad>)."""
        out: list[int] = []
        for i in ids:
            if i in (self.eos_id, self.pad_id):
                break
            out.append(i)
        return self.decode(out)


def _strings(texts: Iterable[str]) -> Iterator[str]:
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"training text #{i} is {type(t).__name__}, expected str")
        yield t
