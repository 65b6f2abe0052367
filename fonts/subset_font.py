"""Build fonts/wqy-microhei-subset.ttf: the label font, a subset of WenQuanYi Micro Hei.

The source is Debian's package ``fonts-wqy-microhei`` (0.2.0-beta, Apache-2.0 or
GPL-3+ with font exception; we ship it under Apache-2.0). Exact commands, from the
project root, on Debian/Ubuntu (no root needed for ``apt-get download``)::

    mkdir -p /tmp/wqy && cd /tmp/wqy
    apt-get download fonts-wqy-microhei       # fonts-wqy-microhei_0.2.0-beta-3.1_all.deb
    dpkg -x fonts-wqy-microhei_*.deb x        # -> x/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
    cd -
    python fonts/subset_font.py /tmp/wqy/x/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
    # licence: x/usr/share/doc/fonts-wqy-microhei/copyright + /usr/share/common-licenses/Apache-2.0
    # were concatenated into fonts/LICENSE-wqy-microhei.txt

Font number 0 of the .ttc ("WenQuanYi Micro Hei", proportional) is used. The
codepoints kept are the union of

* the script blocks in ``BLOCKS`` (ASCII, Latin-1, Latin Extended-A/B, Greek,
  Cyrillic, basic General Punctuation and a few symbols), and
* every character of GB2312, JIS X 0208 and KS X 1001, found by decoding each
  two-byte EUC code (lead and trail byte 0xA1..0xFE) with Python's codecs
  ``gb2312``, ``euc_jp`` and ``euc_kr`` (in EUC-JP that two-byte space is exactly
  JIS X 0208; JIS X 0212 and half-width kana use other lead bytes),

restricted to the codepoints the font maps in its cmap. Hinting is dropped (the
labels are rendered at 12..64 px where FreeType's auto-hinter does fine), all
'name' records (copyright, licence) are kept, glyph names are not. The script
prints, per requested block and per legacy charset, the codepoints the font lacks.

Needs fontTools (``pip install fonttools``; made with 4.68.0). The output is
byte-for-byte reproducible for a given input and fontTools version.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "fonts" / "wqy-microhei-subset.ttf"

# name -> inclusive codepoint ranges
BLOCKS: dict[str, list[tuple[int, int]]] = {
    "ASCII": [(0x20, 0x7E)],
    "Latin-1 Supplement": [(0xA0, 0xFF)],
    "Latin Extended-A": [(0x100, 0x17F)],
    "Latin Extended-B": [(0x180, 0x24F)],
    "Greek and Coptic": [(0x370, 0x3FF)],
    "Cyrillic": [(0x400, 0x4FF)],
    # dashes, quotes, bullet, ellipsis, per mille, primes, guillemets; euro; trade mark
    "General Punctuation (basic) + symbols": [(0x2010, 0x2027), (0x2030, 0x203A), (0x20AC, 0x20AC), (0x2122, 0x2122)],
}
# Greek and Cyrillic contain unassigned codepoints; only report assigned ones as missing.
CHARSETS = ("gb2312", "euc_jp", "euc_kr")


def block_codepoints(ranges: list[tuple[int, int]]) -> set[int]:
    """Assigned codepoints in the inclusive ``ranges``."""
    import unicodedata

    return {cp for lo, hi in ranges for cp in range(lo, hi + 1) if unicodedata.category(chr(cp)) != "Cn"}


def charset_codepoints(codec: str) -> set[int]:
    """Every codepoint a two-byte EUC code (0xA1..0xFE, 0xA1..0xFE) of ``codec`` decodes to."""
    out: set[int] = set()
    for lead in range(0xA1, 0xFF):
        for trail in range(0xA1, 0xFF):
            try:
                text = bytes((lead, trail)).decode(codec)
            except UnicodeDecodeError:
                continue
            if len(text) == 1:
                out.add(ord(text))
    return out


def fmt_missing(cps: set[int], limit: int = 40) -> str:
    """A short listing of codepoints like 'U+0234 U+0235 ... (+12 more)'."""
    items = sorted(cps)
    text = " ".join(f"U+{cp:04X}" for cp in items[:limit])
    return text + (f" ... (+{len(items) - limit} more)" if len(items) > limit else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("ttc", type=Path, help="wqy-microhei.ttc from the fonts-wqy-microhei .deb")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--font-number", type=int, default=0)
    args = parser.parse_args(argv)

    if args.ttc.suffix.lower() == ".ttc":
        font = TTCollection(str(args.ttc)).fonts[args.font_number]
    else:
        font = TTFont(str(args.ttc))
    print(f"source: {font['name'].getDebugName(4)} / {font['name'].getDebugName(5)}")
    cmap = set(font.getBestCmap())

    wanted: set[int] = set()
    for name, ranges in BLOCKS.items():
        cps = block_codepoints(ranges)
        wanted |= cps
        missing = cps - cmap
        print(f"{name}: {len(cps) - len(missing)}/{len(cps)} present" + (f"; missing {fmt_missing(missing)}" if missing else ""))
    for codec in CHARSETS:
        cps = charset_codepoints(codec)
        wanted |= cps
        missing = cps - cmap
        print(f"{codec}: {len(cps) - len(missing)}/{len(cps)} present" + (f"; missing {fmt_missing(missing)}" if missing else ""))
    keep = wanted & cmap
    print(f"keeping {len(keep)} of {len(wanted)} requested codepoints")

    options = subset.Options()
    options.hinting = False  # drops fpgm/prep/cvt and glyph instructions
    options.desubroutinize = True
    options.name_IDs = ["*"]  # copyright, licence, licence URL, ...
    options.name_languages = ["*"]
    options.name_legacy = True
    options.glyph_names = False
    options.notdef_outline = True
    options.drop_tables += ["FFTM"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(keep))
    subsetter.subset(font)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    font.recalcTimestamp = False  # keep head.modified: the same input gives the same bytes
    font.save(str(args.out))
    out = TTFont(str(args.out))
    size = args.out.stat().st_size
    print(f"wrote {args.out}: {size} bytes, {len(out.getGlyphOrder())} glyphs, {len(out.getBestCmap())} codepoints")
    if size > 3_500_000:
        print("warning: larger than 3.5 MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
