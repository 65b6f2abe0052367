"""Just enough H.264 bitstream reading to tell which packets no other frame depends on.

When a video is sampled (``--sample-fps``), a frame that will not be analysed and that no
other frame references need not be decoded at all. In x264's default output (B-pyramid) about
half the frames are such non-reference pictures. Only length-prefixed ("AVCC") H.264, as in
mp4, mov and mkv, is read; anything else is simply decoded.
"""

from __future__ import annotations

_SLICE, _IDR = 1, 5  # nal_unit_type of coded slices


def nal_length_size(codec_name: str, extradata: bytes | None) -> int | None:
    """Bytes in each NAL length prefix of an AVCC H.264 stream (1, 2 or 4), from its
    AVCDecoderConfigurationRecord; None for Annex B streams and other codecs."""
    if codec_name != "h264" or not extradata or len(extradata) < 7 or extradata[0] != 1:
        return None
    size = (extradata[4] & 0x03) + 1
    return size if size in (1, 2, 4) else None


def is_non_reference(data: bytes | memoryview, length_size: int) -> bool:
    """Whether an AVCC access unit holds a picture that no other picture references: it has
    coded slices, and each has nal_ref_idc 0. A malformed unit counts as referenced."""
    view = memoryview(data)
    pos, slices = 0, 0
    while pos + length_size < len(view):
        length = int.from_bytes(view[pos : pos + length_size], "big")
        if length == 0 or pos + length_size + length > len(view):
            return False
        header = view[pos + length_size]
        kind = header & 0x1F
        if kind in (_SLICE, _IDR):
            if kind == _IDR or header & 0x60:
                return False
            slices += 1
        pos += length_size + length
    return slices > 0 and pos == len(view)
