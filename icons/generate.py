#!/usr/bin/env python3
"""Render the Patchbay icon set from icons/icon.svg.

Usage:  python3 icons/generate.py [--out DIR]

Needs Pillow, plus an SVG rasteriser: `rsvg-convert` (librsvg2-bin) is
preferred because it renders the blurred drop shadows; `cairosvg`
(pip install cairosvg) is used as a fallback.

Sizes up to SMALL_MAX px are rendered from a simplified variant of the master
artwork: elements with class="detail" are removed and every attribute
data-small-NAME="value" overrides NAME. That variant has a bigger tile, two
jacks and one thick cable (class="small-only"), so it stays legible at 16-48 px.

Every PNG is written as 8-bit RGBA (Tauri's generate_context! rejects
anything else).
"""

import argparse
import io
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
MASTER = os.path.join(HERE, "icon.svg")
SVG_NS = "http://www.w3.org/2000/svg"
SMALL_MAX = 48

PNG_OUTPUTS = {
    "16x16.png": 16,
    "32x32.png": 32,
    "48x48.png": 48,
    "64x64.png": 64,
    "128x128.png": 128,
    "128x128@2x.png": 256,
    "256x256.png": 256,
    "icon.png": 512,
    "Square30x30Logo.png": 30,
    "Square44x44Logo.png": 44,
    "Square71x71Logo.png": 71,
    "Square89x89Logo.png": 89,
    "Square107x107Logo.png": 107,
    "Square142x142Logo.png": 142,
    "Square150x150Logo.png": 150,
    "Square284x284Logo.png": 284,
    "Square310x310Logo.png": 310,
    "StoreLogo.png": 50,
}
ICO_SIZES = [16, 24, 32, 48, 64, 256]
ICNS_SIZES = [16, 32, 64, 128, 256, 512, 1024]


def variant(svg_text, small):
    """Return the SVG source for the full (small=False) or small variant."""
    ET.register_namespace("", SVG_NS)
    root = ET.fromstring(svg_text)
    parents = {child: parent for parent in root.iter() for child in parent}
    for el in list(root.iter()):
        classes = el.get("class", "").split()
        if small and "detail" in classes:
            parents[el].remove(el)
            continue
        if "small-only" in classes:
            if small:
                el.attrib.pop("display", None)
            else:
                parents[el].remove(el)
                continue
        for name in [k for k in el.attrib if k.startswith("data-small-")]:
            value = el.attrib.pop(name)
            if small:
                el.set(name[len("data-small-"):], value)
    return ET.tostring(root, encoding="unicode")


def rasterise(svg_text, size):
    if shutil.which("rsvg-convert"):
        png = subprocess.run(
            ["rsvg-convert", "-w", str(size), "-h", str(size), "-f", "png"],
            input=svg_text.encode(), stdout=subprocess.PIPE, check=True,
        ).stdout
    else:
        # Fallback: cairosvg cannot blur and mis-renders the shadow filters,
        # so they are stripped (flat look, no drop shadows).
        import re
        import cairosvg
        svg_text = re.sub(r'\sfilter="url\(#[^)]*\)"', "", svg_text)
        png = cairosvg.svg2png(bytestring=svg_text.encode(),
                               output_width=size, output_height=size)
    img = Image.open(io.BytesIO(png))
    img.load()
    img = img.convert("RGBA")
    # Near-transparent pixels come back from un-premultiplying with
    # meaningless colours (e.g. magenta at alpha 1); clear them.
    alpha = img.getchannel("A").point(lambda a: 0 if a < 3 else 255)
    clean = Image.new("RGBA", img.size, (0, 0, 0, 0))
    clean.paste(img, mask=alpha)
    return clean


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=HERE, help="output directory")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    with open(MASTER, encoding="utf-8") as f:
        master = f.read()
    svgs = {False: variant(master, False), True: variant(master, True)}

    cache = {}

    def render(size):
        if size not in cache:
            cache[size] = rasterise(svgs[size <= SMALL_MAX], size)
        return cache[size]

    for name, size in PNG_OUTPUTS.items():
        render(size).save(os.path.join(args.out, name), "PNG", optimize=True)

    ico = [render(s) for s in ICO_SIZES]
    ico[-1].save(os.path.join(args.out, "icon.ico"), format="ICO",
                 sizes=[(s, s) for s in ICO_SIZES], append_images=ico[:-1])

    icns = [render(s) for s in ICNS_SIZES]
    icns[-1].save(os.path.join(args.out, "icon.icns"), format="ICNS",
                  append_images=icns[:-1])

    # sanity check: every PNG must be 8-bit RGBA at the expected size
    for name, size in PNG_OUTPUTS.items():
        with Image.open(os.path.join(args.out, name)) as im:
            if im.mode != "RGBA" or im.size != (size, size):
                sys.exit(f"{name}: got {im.mode} {im.size}")
    print(f"wrote {len(PNG_OUTPUTS)} PNGs, icon.ico and icon.icns to {args.out}")


if __name__ == "__main__":
    main()
