"""ONNX Runtime sessions for the face models: CPU only, loaded from a verified file."""

from __future__ import annotations

from pathlib import Path

import onnxruntime


def open_session(path: Path, threads: int = 0) -> onnxruntime.InferenceSession:
    """A CPU session for `path`; `threads=0` lets ONNX Runtime use every core."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(
        str(path), sess_options=options, providers=["CPUExecutionProvider"]
    )
