"""ONNX Runtime sessions for the face models (CPU only, loaded from a verified file), and
OpenCV's thread count beside them."""

from __future__ import annotations

from pathlib import Path

import cv2
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


def open_any_size_session(path: Path, threads: int) -> onnxruntime.InferenceSession:
    """A session for a fully convolutional model exported with one fixed input size
    (YuNet's 640x640): its input's height and width, and every output dimension
    after the batch, are made free, so each frame runs at its own size."""
    import onnx  # only for this rewrite, done once at load

    model = onnx.load_model(str(path))
    dims = [model.graph.input[0].type.tensor_type.shape.dim[2:]]
    dims += [output.type.tensor_type.shape.dim[1:] for output in model.graph.output]
    for number, dim in enumerate(d for group in dims for d in group):
        dim.ClearField("dim_value")
        dim.dim_param = f"free{number}"
    return onnxruntime.InferenceSession(
        model.SerializeToString(),
        sess_options=session_options(threads),
        providers=["CPUExecutionProvider"],
    )


def limit_opencv_threads(threads: int) -> None:
    """OpenCV's own pool (resizing, warping, blobs) to `threads` (0: every core, its
    default). Its images here are small: at its default 2 threads on a 2-core host the
    pool's wake-ups cost 2 ms of CPU a frame for nothing faster (bench/bench_face.py).
    Process-wide: the station process runs one pipeline."""
    cv2.setNumThreads(threads if threads > 0 else -1)
