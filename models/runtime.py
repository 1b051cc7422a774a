"""ONNX Runtime sessions for the face models: CPU only, loaded from a verified file."""

from __future__ import annotations

from pathlib import Path

import onnxruntime


def session_options(threads: int) -> onnxruntime.SessionOptions:
    """`threads` intra-op threads (0: every core). These models are small: on a busy
    2-core host one thread each was faster than two (bench/bench_face.py)."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return options


def open_session(path: Path, threads: int) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(
        str(path), sess_options=session_options(threads), providers=["CPUExecutionProvider"]
    )
