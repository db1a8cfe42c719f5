"""The test-time platform levels of Table U, declared without torch or ffmpeg (umcl.data.platforms makes them).

A platform level is a test-only compression of the FF++ role: the raw test videos re-encoded as an
unknown platform might (a codec at x264's c23 or c40 bitrate, or a re-encoding chain). Its name is
path-safe (a ``Selection.compression``); its videos live in their own data part, :data:`PLATFORMS_PART`,
made from the main part's raw, c23 and c40 test videos (:data:`SOURCE_COMPRESSIONS`).
"""

from __future__ import annotations

from dataclasses import dataclass

#: codec -> the ffmpeg encoder that makes it (imageio-ffmpeg's build)
CODEC_ENCODERS: dict[str, str] = {"hevc": "libx265", "av1": "libaom-av1", "vp9": "libvpx-vp9"}
#: the x264 levels whose mean bitrate the codecs are matched to
MATCHED_LEVELS: tuple[str, ...] = ("c23", "c40")
#: the messaging chain's x264 CRF and the height it downscales to; the per-frame JPEG quality
MESSAGING_CRF, MESSAGING_HEIGHT, JPEG_QUALITY = 28, 360, 75
#: the data part (results/<profile>/platforms/) holding the platform test videos
PLATFORMS_PART = "platforms"
#: the main part's compressions the platform videos are made from
SOURCE_COMPRESSIONS: tuple[str, ...] = ("raw", "c23", "c40")


@dataclass(frozen=True)
class PlatformLevel:
    """One platform level: a codec at an x264 level's bitrate (``codec``, ``matched``), a chain, or the x264
    copy itself of the same videos (``copy_of``: the reference columns on the platform levels' own videos)."""

    name: str
    label: str
    codec: str | None = None
    matched: str | None = None
    copy_of: str | None = None


PLATFORM_LEVELS: dict[str, PlatformLevel] = {
    lv.name: lv
    for lv in (
        *(PlatformLevel(f"x264{m}", f"x264 {m} (same videos)", copy_of=m) for m in MATCHED_LEVELS),
        *(
            PlatformLevel(f"{c}b{m[1:]}", f"{c.upper()} @ {m} rate", c, m)
            for m in MATCHED_LEVELS
            for c in CODEC_ENCODERS
        ),
        PlatformLevel("msg360", f"360p+CRF{MESSAGING_CRF}+up"),
        PlatformLevel("c23c40", "c23→c40"),
        PlatformLevel("jpeg75", f"JPEG q{JPEG_QUALITY}"),
    )
}
