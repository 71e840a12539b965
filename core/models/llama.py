"""The llama.cpp implementations of ``ChatModel`` and ``Embedder`` (llama-cpp-python).

``llama_cpp`` is imported inside functions only, so importing ``core`` stays
cheap.  Both classes load their model in ``__init__`` (the manager decides
when); each refuses a model that does not fit in the free memory before
touching it, and turns every llama.cpp failure into a ``ModelError`` with a fix.

Chat calls are serialised by a lock: one llama.cpp context cannot run two
generations at once.  The KV cache of the static system prompt is kept
between calls: llama-cpp-python already reuses the longest common token
prefix with the previous call, and on top of that the KV state just after each
recently used system prompt is saved, so a call whose system prompt differs
from the previous call's still skips re-reading its own.
"""

from __future__ import annotations

import ctypes
import json
import logging
import math
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from core.errors import ModelError
from core.models.base import ChatModel, Embedder, Message

log = logging.getLogger(__name__)

# Headroom for llama.cpp's compute buffers and the Python side.
_OVERHEAD_BYTES = 96 * 1024 * 1024


def default_threads(setting: int = 0) -> int:
    """``setting`` when positive, else every core but one (leaving one for the app)."""
    if setting and setting > 0:
        return int(setting)
    return max(1, (os.cpu_count() or 2) - 1)


def estimate_memory(path: Path, n_ctx: int, *, embedding: bool = False) -> int:
    """Bytes the model at ``path`` needs once loaded with an ``n_ctx`` context (weights + f16 KV cache)."""
    size = path.stat().st_size
    if embedding:
        return size + _OVERHEAD_BYTES
    try:
        from core.models.gguf_check import inspect_gguf

        info = inspect_gguf(path)
        arch = info.architecture
        layers = int(info.block_count or 0)
        embd = int(info.embedding_length or 0)
        heads = int(info.metadata.get(f"{arch}.attention.head_count") or 0)
        kv_heads = int(info.metadata.get(f"{arch}.attention.head_count_kv") or heads or 1)
        head_dim = embd // heads if heads else embd
        kv = layers * n_ctx * 2 * kv_heads * head_dim * 2
    except (ModelError, ValueError, TypeError):
        kv = size // 5
    return size + kv + _OVERHEAD_BYTES


def check_fits_in_memory(path: Path, n_ctx: int, *, embedding: bool = False, available: int | None = None) -> int:
    """Raise ModelError when the model would not fit in the free RAM; returns the estimate."""
    need = estimate_memory(path, n_ctx, embedding=embedding)
    if available is None:
        import psutil

        available = int(psutil.virtual_memory().available)
    if need > available:
        raise ModelError(
            f"The model {path.name} needs about {need / 1024**3:.1f} GB of memory, "
            f"but only {available / 1024**3:.1f} GB is free. Engram did not load it.",
            fix="Close other programs, lower 'models.context_length', or choose a smaller model "
            "('engram models list' shows one recommended for this machine).",
        )
    return need


def open_llama(
    path: Path,
    *,
    n_ctx: int,
    embedding: bool = False,
    n_threads: int | None = None,
    n_batch: int = 512,
):
    """A ``llama_cpp.Llama`` for ``path``, quiet, or a ModelError explaining why not."""
    try:
        import llama_cpp
    except ImportError as exc:  # pragma: no cover - environment problem
        raise ModelError(
            "llama-cpp-python is not installed, so Engram cannot run local models.",
            fix="Run 'make setup' (or 'pip install llama-cpp-python').",
        ) from exc
    threads = n_threads or default_threads()
    kwargs: dict[str, Any] = dict(
        model_path=str(path),
        n_ctx=n_ctx,
        n_threads=threads,
        n_threads_batch=threads,
        n_batch=n_batch,
        verbose=False,
    )
    if embedding:
        # Encoders see a whole text at once: one micro-batch must hold the longest input.
        kwargs.update(embedding=True, n_ubatch=n_batch)
    try:
        return llama_cpp.Llama(**kwargs)
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelError(
            f"llama.cpp could not load {path.name}: {exc}.",
            fix="The file may be damaged or use an architecture this llama.cpp does not know; "
            "download it again or choose another model with 'engram models use NAME'.",
        ) from exc


class _RepetitionGuard:
    """A llama-cpp-python stopping criterion that ends a generation caught in a loop.

    Stops when the newest tokens repeat a pattern of 1-16 tokens so often that
    the repeated run covers at least ``min_span`` tokens -- the usual failure of
    small models ("\\n\\n\\n...", '"a", "a", "a", ...').
    """

    def __init__(self, prompt_len: int, min_span: int = 48, every: int = 4):
        self.prompt_len = prompt_len
        self.min_span = min_span
        self.every = every
        self.triggered = False
        self.generated = 0

    def __call__(self, input_ids: np.ndarray, logits: np.ndarray) -> bool:
        generated = len(input_ids) - self.prompt_len
        self.generated = generated
        if generated < self.min_span or generated % self.every:
            return False
        tail = np.asarray(input_ids[-self.min_span - 16 :])
        for period in range(1, 17):
            span = max(self.min_span, 3 * period)
            if len(tail) < span + period:
                break
            if np.array_equal(tail[-span:], tail[-span - period : -period]):
                self.triggered = True
                return True
        return False


PROMPT_STYLES = ("chat", "plain")
PLAIN_STOPS = ("\nQuestion:", "\nEvidence:", "\n\n\n")


def render_plain(messages: Sequence[Message], add_generation_prompt: bool = True) -> str:
    """A conversation as plain text, for a base model that has no chat format and echoes chat markup.

    The system prompt and each turn are paragraphs; the model continues after "Answer:".  Earlier
    answers of the model (a repair request after invalid JSON) are written as "Answer: ...".
    """
    parts: list[str] = []
    for message in messages:
        content = str(message.get("content") or "").strip()
        if message.get("role") == "assistant":
            parts.append(f"Answer: {content}")
        else:
            parts.append(content)
    text = "\n\n".join(parts)
    return text + "\n\nAnswer:" if add_generation_prompt else text + "\n\n"


def _schema_key(schema: dict) -> str:
    return json.dumps(schema, sort_keys=True, separators=(",", ":"))


class LlamaChatModel(ChatModel):
    """A chat model running a GGUF file through llama.cpp."""

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        name: str | None = None,
        context_length: int = 4096,
        threads: int = 0,
        repeat_penalty: float = 1.1,
        prefix_cache_size: int = 4,
        check_memory: bool = True,
        prompt_style: str = "chat",
    ):
        if prompt_style not in PROMPT_STYLES:
            raise ModelError(f"Unknown prompt style {prompt_style!r} for {path}.",
                             fix="Use 'chat' (instruction-tuned models) or 'plain' (base models) in the catalog entry.")
        self.prompt_style = prompt_style
        self.path = Path(path)
        self.name = name or self.path.stem
        if not self.path.is_file():
            raise ModelError(f"The chat model file {self.path} is missing.", fix="Run 'engram models list' and pull or import a model.")
        if check_memory:
            check_fits_in_memory(self.path, context_length)
        self.threads = default_threads(threads)
        self.repeat_penalty = repeat_penalty
        started = time.perf_counter()
        self._llm = open_llama(self.path, n_ctx=context_length, n_threads=self.threads)
        self.load_seconds = time.perf_counter() - started
        self.context_length = self._llm.n_ctx()
        self._lock = threading.RLock()
        self._formatter = self._make_formatter()
        self._prefix_formatter = self._make_formatter(add_generation_prompt=False)
        self._grammars: dict[str, Any] = {}
        self._prefix_states: OrderedDict[tuple[int, ...], bytes] = OrderedDict()
        self._prefix_cache_size = prefix_cache_size
        self.last_stats: dict[str, float] = {}
        self._prompt_len = 0

    # --- prompt formatting ---------------------------------------------
    def _make_formatter(self, add_generation_prompt: bool = True):
        """llama-cpp-python's own Jinja formatter for the GGUF's chat template, or None without one."""
        from llama_cpp import llama_chat_format

        metadata = self._llm.metadata
        template = metadata.get("tokenizer.chat_template")
        if not template:
            return None

        def special(key: str) -> str:
            token_id = metadata.get(key)
            if token_id is None:
                return ""
            return self._llm.detokenize([int(token_id)], special=True).decode("utf-8", errors="ignore")

        return llama_chat_format.Jinja2ChatFormatter(
            template=template,
            eos_token=special("tokenizer.ggml.eos_token_id"),
            bos_token=special("tokenizer.ggml.bos_token_id"),
            add_generation_prompt=add_generation_prompt,
            stop_token_ids=[self._llm.token_eos()],
        )

    def _render(self, messages: Sequence[Message], add_generation_prompt: bool = True) -> tuple[str, list[str], bool]:
        """(prompt text, stop strings, whether the template already put BOS in)."""
        if self.prompt_style == "plain":
            return render_plain(messages, add_generation_prompt), list(PLAIN_STOPS), False
        formatter = self._formatter if add_generation_prompt else self._prefix_formatter
        if formatter is None:
            # ChatML, the format of most small instruct models without a template.
            text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
            if add_generation_prompt:
                text += "<|im_start|>assistant\n"
            return text, ["<|im_end|>"], False
        result = formatter(messages=[dict(m) for m in messages])
        stop = result.stop if isinstance(result.stop, list) else [result.stop] if result.stop else []
        return result.prompt, stop, bool(getattr(result, "added_special", False))

    def _tokenize(self, text: str, template_added_bos: bool) -> list[int]:
        return self._llm.tokenize(text.encode("utf-8"), add_bos=not template_added_bos, special=True)

    def prompt_tokens(self, messages: Sequence[Message]) -> tuple[list[int], list[str], list[int] | None]:
        """Token ids of the prompt, stop strings, and the token prefix covering the system prompt (if any)."""
        text, stop, added_bos = self._render(messages)
        tokens = self._tokenize(text, added_bos)
        prefix = None
        if messages and messages[0]["role"] == "system" and len(messages) > 1:
            try:
                system_text, _, _ = self._render(messages[:1], add_generation_prompt=False)
                candidate = self._tokenize(system_text, added_bos)
                if 0 < len(candidate) < len(tokens) and tokens[: len(candidate)] == candidate:
                    prefix = candidate
            except Exception:  # a template that cannot render a lone system message: no prefix caching
                prefix = None
        return tokens, stop, prefix

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    # --- KV prefix cache ------------------------------------------------
    def _ctx_pointer(self):
        return self._llm._ctx.ctx  # noqa: SLF001 - llama-cpp-python keeps the raw context here

    def _prepare_prefix(self, prefix: list[int] | None) -> None:
        """Make the KV cache start with ``prefix``: restore a saved state, or evaluate and save it."""
        if not prefix:
            return
        import llama_cpp

        llm = self._llm
        key = tuple(prefix)
        current = llm.longest_token_prefix(llm.input_ids[: llm.n_tokens].tolist(), prefix)
        if current >= len(prefix):
            if key in self._prefix_states:
                self._prefix_states.move_to_end(key)
                return
        elif key in self._prefix_states:
            blob = self._prefix_states[key]
            self._prefix_states.move_to_end(key)
            ctx = self._ctx_pointer()
            llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx), True)
            buffer = (ctypes.c_uint8 * len(blob)).from_buffer_copy(blob)
            if llama_cpp.llama_state_seq_set_data(ctx, buffer, len(blob), 0):
                llm.input_ids[: len(prefix)] = prefix
                llm.n_tokens = len(prefix)
                llm._requires_eval = True  # noqa: SLF001 - logits must be refreshed by the next decode
                return
            # The saved state no longer fits this context: forget it and evaluate afresh.
            del self._prefix_states[key]
            llm.reset()
            current = 0
        # Evaluate exactly the prefix (reusing what is already there) and save that state.
        llm.n_tokens = min(current, len(prefix) - 1)
        llm.eval(prefix[llm.n_tokens :])
        ctx = self._ctx_pointer()
        size = llama_cpp.llama_state_seq_get_size(ctx, 0)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(ctx, buffer, size, 0)
        if written:
            self._prefix_states[key] = bytes(buffer[:written])
            while len(self._prefix_states) > self._prefix_cache_size:
                self._prefix_states.popitem(last=False)

    def clear_prefix_cache(self) -> None:
        """Forget saved system-prompt states and the live KV cache (used by the bench)."""
        with self._lock:
            self._prefix_states.clear()
            self._llm.reset()

    # --- generation -----------------------------------------------------
    def _budget(self, prompt_len: int, max_tokens: int) -> int:
        room = self.context_length - prompt_len
        if room <= 8:
            raise ModelError(
                f"The request is too long for {self.name}: {prompt_len} tokens in a {self.context_length}-token context.",
                fix="Shorten the input, or raise 'models.context_length' (uses more memory).",
            )
        return max(1, min(int(max_tokens), room))

    def _complete(self, messages, *, max_tokens, temperature, grammar=None, stream=False, repeat_penalty=None):
        from llama_cpp import StoppingCriteriaList

        tokens, stop, prefix = self.prompt_tokens(messages)
        budget = self._budget(len(tokens), max_tokens)
        self._prepare_prefix(prefix)
        guard = _RepetitionGuard(len(tokens))
        self._prompt_len = len(tokens)
        return guard, self._llm.create_completion(
            prompt=tokens,
            max_tokens=budget,
            temperature=temperature,
            top_k=40,
            top_p=0.95,
            min_p=0.05,
            repeat_penalty=self.repeat_penalty if repeat_penalty is None else repeat_penalty,
            stop=stop,
            grammar=grammar,
            stream=stream,
            stopping_criteria=StoppingCriteriaList([guard]),
        )

    def chat(self, messages: Sequence[Message], *, max_tokens: int = 256, temperature: float = 0.0) -> str:
        return "".join(self.stream_chat(messages, max_tokens=max_tokens, temperature=temperature))

    def stream_chat(
        self, messages: Sequence[Message], *, max_tokens: int = 256, temperature: float = 0.0
    ) -> Iterator[str]:
        yield from self._generate(messages, max_tokens=max_tokens, temperature=temperature)

    def _generate(self, messages, *, max_tokens, temperature, grammar=None, repeat_penalty=None) -> Iterator[str]:
        with self._lock:
            started = time.perf_counter()
            first = None
            guard = None
            finish = None
            try:
                guard, chunks = self._complete(
                    messages, max_tokens=max_tokens, temperature=temperature, grammar=grammar, stream=True,
                    repeat_penalty=repeat_penalty,
                )
                for chunk in chunks:
                    choice = chunk["choices"][0]
                    finish = choice.get("finish_reason") or finish
                    text = choice.get("text") or ""
                    if first is None:
                        first = time.perf_counter()
                    if text:
                        yield text
            except (RuntimeError, ValueError) as exc:
                raise ModelError(
                    f"The chat model {self.name} failed while generating: {exc}.",
                    fix="Try again; if it keeps failing, choose another model with 'engram models use NAME'.",
                ) from exc
            ended = time.perf_counter()
            self.last_stats = {
                "prefill_seconds": (first or ended) - started,
                "total_seconds": ended - started,
                "prompt_tokens": float(self._prompt_len),
                "completion_tokens": float(guard.generated if guard else 0),
                "repetition_stopped": float(bool(guard and guard.triggered)),
                "finish_length": float(finish == "length"),
            }

    def _generate_text(self, messages, **kwargs) -> tuple[str, dict]:
        if kwargs.get("grammar") is not None and kwargs.get("temperature", 0.0) == 0.0:
            return self._decode_with_grammar(messages, kwargs["grammar"], kwargs["max_tokens"])
        text = "".join(self._generate(messages, **kwargs))
        return text, dict(self.last_stats)

    def _feed_prompt(self, tokens: list[int]) -> None:
        """Evaluate ``tokens`` into the KV cache, reusing its longest common prefix."""
        llm = self._llm
        common = llm.longest_token_prefix(llm.input_ids[: llm.n_tokens].tolist(), tokens)
        # Always decode at least the last prompt token so its logits are fresh.
        llm.n_tokens = min(common, len(tokens) - 1)
        llm.eval(tokens[llm.n_tokens :])

    def _candidate_buffer(self, n_vocab: int):
        import llama_cpp

        buffer = getattr(self, "_candidates", None)
        if buffer is None or len(buffer[0]) != n_vocab:
            data = (llama_cpp.llama_token_data * n_vocab)()
            view = np.ctypeslib.as_array(data)
            array = llama_cpp.llama_token_data_array(data=data, size=n_vocab, selected=-1, sorted=False)
            buffer = self._candidates = (data, view, array, np.arange(n_vocab, dtype=view["id"].dtype))
        return buffer

    def _decode_with_grammar(self, messages, grammar, max_tokens: int) -> tuple[str, dict]:
        """Greedy decoding under ``grammar``, checking the grammar only against the chosen token.

        llama-cpp-python filters the whole vocabulary through the grammar at
        every step.  The greedy choice is the same if we take the unconstrained
        best token and ask the grammar about that one token; only when the
        grammar rejects it is the whole vocabulary filtered (as llama.cpp's own
        common sampler does).  That makes constrained decoding nearly as fast
        as free decoding.
        """
        import llama_cpp

        llm = self._llm
        with self._lock:
            started = time.perf_counter()
            tokens, _, prefix = self.prompt_tokens(messages)
            budget = self._budget(len(tokens), max_tokens)
            self._prompt_len = len(tokens)
            self._prepare_prefix(prefix)
            self._feed_prompt(tokens)
            first = time.perf_counter()
            vocab = llm._model.vocab  # noqa: SLF001 - the raw vocabulary pointer llama-cpp-python holds
            sampler = llama_cpp.llama_sampler_init_grammar(vocab, grammar._grammar.encode("utf-8"),
                                                           grammar._root.encode("utf-8"))
            if not sampler:
                raise ModelError("llama.cpp rejected the grammar made from the JSON schema.",
                                 fix="Simplify the schema (plain objects, arrays, strings, numbers, enums).")
            n_vocab = llm.n_vocab()
            _, view, full, ids = self._candidate_buffer(n_vocab)
            single = (llama_cpp.llama_token_data * 1)()
            one = llama_cpp.llama_token_data_array(data=single, size=1, selected=-1, sorted=False)
            guard = _RepetitionGuard(len(tokens))
            ctx = self._ctx_pointer()
            out: list[int] = []
            finish = "length"
            try:
                for _ in range(budget):
                    logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, -1), shape=(n_vocab,))
                    token = int(np.argmax(logits))
                    single[0].id, single[0].logit, single[0].p = token, float(logits[token]), 0.0
                    one.size, one.selected, one.sorted = 1, -1, False
                    llama_cpp.llama_sampler_apply(sampler, ctypes.byref(one))
                    if not math.isfinite(single[0].logit):
                        view["id"] = ids
                        view["logit"] = logits
                        full.size, full.selected, full.sorted = n_vocab, -1, False
                        llama_cpp.llama_sampler_apply(sampler, ctypes.byref(full))
                        best = int(np.argmax(view["logit"][:n_vocab]))
                        if not math.isfinite(float(view["logit"][best])):
                            finish = "dead_end"
                            break
                        token = int(view["id"][best])
                    llama_cpp.llama_sampler_accept(sampler, token)
                    if llama_cpp.llama_vocab_is_eog(vocab, token):
                        finish = "stop"
                        break
                    out.append(token)
                    llm.eval([token])
                    if guard(llm.input_ids[: llm.n_tokens], None):
                        finish = "repetition"
                        break
            except (RuntimeError, ValueError) as exc:
                raise ModelError(f"The chat model {self.name} failed while generating: {exc}.",
                                 fix="Try again; if it keeps failing, choose another model with 'engram models use NAME'.") from exc
            finally:
                llama_cpp.llama_sampler_free(sampler)
            ended = time.perf_counter()
            text = llm.detokenize(out).decode("utf-8", errors="replace")
            self.last_stats = {
                "prefill_seconds": first - started,
                "total_seconds": ended - started,
                "prompt_tokens": float(len(tokens)),
                "completion_tokens": float(len(out)),
                "repetition_stopped": float(finish == "repetition"),
                "finish_length": float(finish == "length"),
            }
            return text, dict(self.last_stats)

    def chat_json(self, messages: Sequence[Message], schema: dict, *, max_tokens: int = 512) -> Any:
        import jsonschema

        try:
            validator_cls = jsonschema.validators.validator_for(schema)
            validator_cls.check_schema(schema)
            validator = validator_cls(schema)
        except jsonschema.SchemaError as exc:
            raise ModelError(f"The JSON schema given to the chat model is invalid: {exc.message}.",
                             fix="This is a bug in Engram; please report it.") from exc
        grammar = self._grammar_for(schema)
        conversation = list(messages)
        problem = ""
        for attempt in range(2):
            text, stats = self._generate_text(
                conversation, max_tokens=max_tokens, temperature=0.0, grammar=grammar, repeat_penalty=1.0
            )
            value, problem = _decode_and_validate(text, validator, stats)
            if not problem:
                return value
            log.info("chat_json attempt %d from %s invalid: %s", attempt + 1, self.name, problem)
            conversation = list(messages) + [
                {"role": "assistant", "content": text},
                {"role": "user", "content": f"That reply was not valid: {problem}. "
                                            "Reply again with only the JSON object, following the schema exactly."},
            ]
        raise ModelError(
            f"The chat model {self.name} could not produce JSON matching the schema, even after a repair attempt: {problem}.",
            fix="Choose a larger chat model ('engram models list' recommends one for this machine, "
            "then 'engram models use NAME').",
        )

    def _grammar_for(self, schema: dict):
        key = _schema_key(schema)
        grammar = self._grammars.get(key)
        if grammar is None:
            from llama_cpp import LlamaGrammar

            try:
                grammar = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
            except Exception as exc:
                raise ModelError(f"llama.cpp cannot turn this JSON schema into a grammar: {exc}.",
                                 fix="Simplify the schema (plain objects, arrays, strings, numbers, enums).") from exc
            self._grammars[key] = grammar
        return grammar

    def close(self) -> None:
        with self._lock:
            llm, self._llm = getattr(self, "_llm", None), None
            self._prefix_states.clear()
            if llm is not None:
                llm.close()


def _decode_and_validate(text: str, validator, stats: dict) -> tuple[Any, str]:
    """(value, '') when ``text`` is JSON satisfying the schema, else (None, what is wrong)."""
    stripped = text.strip()
    if not stripped:
        return None, "the reply was empty"
    try:
        value = json.loads(stripped)
    except ValueError as exc:
        if stats.get("repetition_stopped"):
            return None, "the model started repeating itself and was stopped"
        if stats.get("finish_length"):
            return None, "the reply was cut off at the token limit"
        return None, f"the reply is not JSON ({exc.msg} at character {exc.pos})"
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.path) or "the top level"
        return None, f"at {where}: {first.message}"
    return value, ""


class LlamaEmbedder(Embedder):
    """A sentence embedder running a GGUF encoder (BERT-like) through llama.cpp."""

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        name: str | None = None,
        threads: int = 0,
        context_length: int | None = None,
        check_memory: bool = True,
        batch_size: int = 16,
    ):
        self.path = Path(path)
        self.name = name or self.path.stem
        if not self.path.is_file():
            raise ModelError(f"The embedding model file {self.path} is missing.",
                             fix="Run 'engram models list' and pull or import an embedding model.")
        if check_memory:
            check_fits_in_memory(self.path, 0, embedding=True)
        self.threads = default_threads(threads)
        n_ctx = context_length or self._trained_context()
        started = time.perf_counter()
        self._llm = open_llama(self.path, n_ctx=n_ctx, embedding=True, n_threads=self.threads, n_batch=n_ctx)
        self.load_seconds = time.perf_counter() - started
        self.dimension = int(self._llm.n_embd())
        self.context_length = n_ctx
        self.batch_size = batch_size
        self._lock = threading.Lock()

    def _trained_context(self) -> int:
        try:
            from core.models.gguf_check import inspect_gguf

            return int(inspect_gguf(self.path).context_length or 512)
        except (ModelError, TypeError, ValueError):
            return 512

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts; use embed_one() for a single text")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        rows: list[list[float]] = []
        with self._lock:
            try:
                for start in range(0, len(texts), self.batch_size):
                    batch = [t if t.strip() else " " for t in texts[start : start + self.batch_size]]
                    rows.extend(self._llm.embed(batch, normalize=False, truncate=True))
            except (RuntimeError, ValueError) as exc:
                raise ModelError(f"The embedding model {self.name} failed: {exc}.",
                                 fix="Try again; if it keeps failing, choose another embedding model.") from exc
        out = np.asarray(rows, dtype=np.float32)
        if out.ndim != 2 or out.shape[1] != self.dimension:
            raise ModelError(
                f"The embedding model {self.name} returned vectors of shape {out.shape}, not (n, {self.dimension}).",
                fix="Use a model with pooling (a sentence-embedding GGUF), not a chat model.",
            )
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms

    def close(self) -> None:
        with self._lock:
            llm, self._llm = getattr(self, "_llm", None), None
            if llm is not None:
                llm.close()
