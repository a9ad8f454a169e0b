"""QR codes as inline SVG (segno draws them locally: no image service, no external call).

Pure: a string in, SVG markup out."""

from __future__ import annotations

import segno


def qr_svg(text: str, *, title: str = "QR code") -> str:
    """An ``<svg>`` element encoding ``text`` (medium error correction, so a printed or
    slightly creased certificate still scans). Sized by its viewBox, so CSS sets its width;
    drawn with presentation attributes only (no ``style``), as the Content-Security-Policy
    asks."""
    code = segno.make(text, error="m", micro=False)
    return code.svg_inline(
        scale=4,
        border=2,
        omitsize=True,
        title=title,
        svgclass="qr-code",
        lineclass=None,
        dark="#000",
        light="#fff",
    )
