"""Which files a web browser can play as they are, and the MIME type to serve them under.

Browsers play H.264 (4:2:0, 8 bit), VP8, VP9 and AV1 video with AAC, MP3, Opus or Vorbis sound,
in MP4 or WebM. Anything else (AVI, MPEG-4 Part 2, MPEG-2, 4:2:2 or 10-bit H.264, PCM audio...)
has to be transcoded before a `<video>` element can show it; `browser_mime` returns None for it.
Matroska is served as WebM only with WebM's own codecs, since that is all a browser expects in it.
"""

from __future__ import annotations

from pathlib import Path

from vsearch.media.probing import open_video

_MP4_VIDEO = {"h264", "av1", "vp9"}
_MP4_AUDIO = {"aac", "mp3", "opus"}
_WEBM_VIDEO = {"vp8", "vp9", "av1"}
_WEBM_AUDIO = {"opus", "vorbis"}
# Pixel formats every browser decoder handles (8-bit 4:2:0; "j" is the full-range variant).
_PIXEL_FORMATS = {"yuv420p", "yuvj420p"}


def browser_mime(path: Path) -> str | None:
    """"video/mp4" or "video/webm" when a browser plays `path` as it is, else None.

    Raises MediaError when the file cannot be opened at all.
    """
    container, stream = open_video(Path(path))
    try:
        family = container.format.name.split(",")[0]
        video_codec = stream.codec_context.name
        pixel_format = stream.codec_context.format.name if stream.codec_context.format else None
        audio_codecs = {audio.codec_context.name for audio in container.streams.audio}
    finally:
        container.close()
    if pixel_format not in _PIXEL_FORMATS:
        return None
    if family == "mov" and video_codec in _MP4_VIDEO and audio_codecs <= _MP4_AUDIO:
        return "video/mp4"
    if family == "matroska" and video_codec in _WEBM_VIDEO and audio_codecs <= _WEBM_AUDIO:
        return "video/webm"
    return None
