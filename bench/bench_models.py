"""Benchmark of the seed chat model through Engram's llama.cpp wrapper.

Prints, for SmolLM2-135M-Instruct:

* decode tokens/s through ``LlamaChatModel`` against raw llama-cpp-python
  (its own ``Llama`` instance, same file and settings) in the same run --
  target: ratio >= 0.95;
* constrained (JSON-schema grammar) against free decoding speed;
* prefill time of a second call sharing the system prompt against the first
  (target: <= 0.25), and of a call whose system prompt state is restored
  after another system prompt was used in between.

Decode speed is measured from the first streamed token to the last, so
prompt processing does not blur it; every figure is the median of several
interleaved rounds.

    python bench/bench_models.py [--rounds 4] [--json bench/out/models.json] [--seed-dir .models]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHAT_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

SYSTEM = (
    "You are Engram, a private memory assistant running on the user's own computer. "
    "You read short snippets of text captured from the user's screen and turn them into durable memories: "
    "facts about people, projects, tasks with due dates, events, preferences and decisions. "
    "Be precise, never invent details that are not in the text, keep names exactly as written, "
    "and prefer short, self-contained sentences. Dates are written as YYYY-MM-DD. "
    "If the text contains passwords, card numbers or keys, never repeat them. "
    "When asked for JSON, answer with JSON only."
)
FREE_PROMPT = "Describe, in a few sentences, what a good note-taking habit looks like."
JSON_SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "kind": {"enum": ["task", "event", "fact", "preference"]},
        "due": {"type": "string"},
        "people": {"type": "array", "items": {"type": "string"}},
        "summary": {"type": "string"},
    },
    "required": ["title", "kind", "due", "people", "summary"],
}
JSON_PROMPT = "Screen text: 'Dentist with Dr. Ruiz on 2024-11-02.' Extract one memory as JSON."
SAMPLING = dict(temperature=0.0, top_k=40, top_p=0.95, min_p=0.05, repeat_penalty=1.1)


def decode_rate(tokens: int, first: float, end: float) -> float:
    """Tokens per second after the first token (prefill excluded)."""
    return (tokens - 1) / (end - first) if tokens > 1 and end > first else float("nan")


def raw_stream(llm, messages, max_tokens: int) -> dict:
    """One chat completion through raw llama-cpp-python, timed like the wrapper times itself."""
    started = time.perf_counter()
    first = None
    text = []
    chunks = 0
    for chunk in llm.create_chat_completion(messages=messages, max_tokens=max_tokens, stream=True, **SAMPLING):
        delta = chunk["choices"][0]["delta"].get("content")
        if delta:
            if first is None:
                first = time.perf_counter()
            chunks += 1
            text.append(delta)
    end = time.perf_counter()
    return {"text": "".join(text), "tokens": chunks, "prefill": (first or end) - started, "rate": decode_rate(chunks, first or end, end)}


def wrapper_stream(model, messages, max_tokens: int) -> dict:
    first = None
    pieces = []
    for piece in model.stream_chat(messages, max_tokens=max_tokens, temperature=0.0):
        if first is None:
            first = time.perf_counter()
        pieces.append(piece)
    end = time.perf_counter()
    tokens = int(model.last_stats["completion_tokens"])
    return {"text": "".join(pieces), "tokens": tokens, "prefill": model.last_stats["prefill_seconds"],
            "rate": decode_rate(len(pieces), first or end, end)}


def run(seed_dir: Path, rounds: int, max_tokens: int) -> dict:
    from llama_cpp import Llama

    from core.models.llama import LlamaChatModel, default_threads

    path = seed_dir / CHAT_FILE
    if not path.exists():
        raise SystemExit(f"{path} is missing: run 'python -m core.models.seed prepare --dest {seed_dir}' first")
    threads = default_threads(0)
    model = LlamaChatModel(path, name="smollm2-135m-instruct-q4_1", context_length=2048, threads=threads)
    raw = Llama(model_path=str(path), n_ctx=2048, n_threads=threads, n_threads_batch=threads, n_batch=512, verbose=False)
    free_messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": FREE_PROMPT}]
    json_messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": JSON_PROMPT}]

    # Warm both instances (first decode allocates compute buffers).
    wrapper_stream(model, [{"role": "user", "content": "Hi"}], 4)
    raw_stream(raw, [{"role": "user", "content": "Hi"}], 4)

    # 1. Wrapper against raw llama-cpp-python, interleaved rounds.
    ours, theirs = [], []
    same_text = True
    for _ in range(rounds):
        a = wrapper_stream(model, free_messages, max_tokens)
        b = raw_stream(raw, free_messages, max_tokens)
        ours.append(a["rate"])
        theirs.append(b["rate"])
        same_text = same_text and a["text"] == b["text"]
    wrapper_rate = statistics.median(ours)
    raw_rate = statistics.median(theirs)

    # 2. Constrained (grammar) against free decoding through the wrapper.
    constrained, free = [], []
    json_ok = True
    for _ in range(rounds):
        try:
            model.chat_json(json_messages, JSON_SCHEMA, max_tokens=max_tokens * 3)
        except Exception as exc:  # report, do not crash the bench
            json_ok = False
            print(f"  chat_json failed: {exc}", file=sys.stderr)
        stats = model.last_stats
        decode = stats["total_seconds"] - stats["prefill_seconds"]
        # The grammar path's prefill ends before its first token, so every completion token counts.
        constrained.append(stats["completion_tokens"] / decode if decode > 0 else float("nan"))
        free.append(wrapper_stream(model, json_messages, max_tokens)["rate"])
    constrained_rate = statistics.median(constrained)
    free_rate = statistics.median(free)

    # 3. Prefill of a second call sharing the system prompt, and of a restored system prompt state.
    firsts, seconds, restored = [], [], []
    other = [{"role": "system", "content": "You are a poet. Answer in rhyme."}, {"role": "user", "content": "Hello"}]
    for i in range(rounds):
        model.clear_prefix_cache()
        model.chat([{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"Round {i}: what is Engram?"}], max_tokens=4)
        firsts.append(model.last_stats["prefill_seconds"])
        prompt_tokens = model.last_stats["prompt_tokens"]
        model.chat([{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"Round {i}: name a colour."}], max_tokens=4)
        seconds.append(model.last_stats["prefill_seconds"])
        model.chat(other, max_tokens=4)
        model.chat([{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"Round {i}: name a fruit."}], max_tokens=4)
        restored.append(model.last_stats["prefill_seconds"])
    first_prefill = statistics.median(firsts)

    model.close()
    raw.close()
    return {
        "model": CHAT_FILE,
        "threads": threads,
        "rounds": rounds,
        "max_tokens": max_tokens,
        "wrapper_tokens_per_second": round(wrapper_rate, 2),
        "raw_tokens_per_second": round(raw_rate, 2),
        "wrapper_vs_raw_ratio": round(wrapper_rate / raw_rate, 3),
        "wrapper_and_raw_same_text": same_text,
        "constrained_tokens_per_second": round(constrained_rate, 2),
        "free_tokens_per_second": round(free_rate, 2),
        "constrained_vs_free_ratio": round(constrained_rate / free_rate, 3),
        "constrained_json_valid": json_ok,
        "system_prompt_tokens": int(prompt_tokens),
        "first_prefill_seconds": round(first_prefill, 4),
        "second_prefill_seconds": round(statistics.median(seconds), 4),
        "second_vs_first_prefill_ratio": round(statistics.median(seconds) / first_prefill, 3),
        "restored_prefill_seconds": round(statistics.median(restored), 4),
        "restored_vs_first_prefill_ratio": round(statistics.median(restored) / first_prefill, 3),
    }


def report(r: dict) -> str:
    def verdict(ok: bool) -> str:
        return "ok" if ok else "BELOW TARGET"

    lines = [
        f"Engram model bench -- {r['model']}, {r['threads']} thread(s), median of {r['rounds']} rounds",
        "",
        f"Decode speed, wrapper vs raw llama-cpp-python: {r['wrapper_tokens_per_second']:.1f} vs "
        f"{r['raw_tokens_per_second']:.1f} tokens/s  ratio {r['wrapper_vs_raw_ratio']:.3f} "
        f"(target >= 0.95: {verdict(r['wrapper_vs_raw_ratio'] >= 0.95)}; same text: {r['wrapper_and_raw_same_text']})",
        f"Constrained (JSON schema) vs free decoding:    {r['constrained_tokens_per_second']:.1f} vs "
        f"{r['free_tokens_per_second']:.1f} tokens/s  ratio {r['constrained_vs_free_ratio']:.3f}"
        f" (valid JSON: {r['constrained_json_valid']})",
        f"Prefill, second call sharing the system prompt: {r['second_prefill_seconds'] * 1000:.0f} ms vs first "
        f"{r['first_prefill_seconds'] * 1000:.0f} ms ({r['system_prompt_tokens']} prompt tokens)  ratio "
        f"{r['second_vs_first_prefill_ratio']:.3f} (target <= 0.25: {verdict(r['second_vs_first_prefill_ratio'] <= 0.25)})",
        f"Prefill, system prompt state restored after another prompt: {r['restored_prefill_seconds'] * 1000:.0f} ms  "
        f"ratio {r['restored_vs_first_prefill_ratio']:.3f}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from core.models.seed import default_seed_dir

    parser = argparse.ArgumentParser(description="Benchmark the seed chat model through Engram's wrapper.")
    parser.add_argument("--seed-dir", type=Path, default=None, help="default: ENGRAM_SEED_MODELS or <repo>/.models")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "models.json",
                        help="also write the results to this JSON file (default: bench/out/models.json)")
    args = parser.parse_args(argv)
    results = run(args.seed_dir or default_seed_dir(), args.rounds, args.max_tokens)
    print(report(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
