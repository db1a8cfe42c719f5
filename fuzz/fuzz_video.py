"""Fuzz the video reader: any bytes as ``video.mp4``, opened as preprocessing opens a video.

Container and stream metadata are parsed by FFmpeg (in this process through OpenCV, else by the
ffmpeg CLI); coverage guidance sees only the Python side, so the seeds are small real videos whose
headers the mutations damage. Two frames are asked for, to keep each input cheap.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz._contract import check, instrumented, run, scratch  # noqa: E402

with instrumented():
    from umcl.data.preprocess.pipeline import load_clip

TMP = scratch("video")
VIDEO = TMP / "video.mp4"
NUM_FRAMES = 2


def test_one_input(data: bytes) -> None:
    VIDEO.write_bytes(data)
    check("video", data, lambda: load_clip(VIDEO, NUM_FRAMES), (VIDEO.name,))


if __name__ == "__main__":
    run(test_one_input)
