import io

import segno


def qr_code_svg(data: str) -> bytes:
    """An SVG image of a QR code that encodes `data`."""
    out = io.BytesIO()
    segno.make(data, error="m").save(out, kind="svg", scale=6, border=2, xmldecl=False)
    return out.getvalue()
