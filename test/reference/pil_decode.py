"""Decodes images the way TripoSR's run.py reads them, with Pillow, for the decoder's tests.

TripoSR opens the file with `Image.open`; rembg's `remove` then applies the EXIF orientation
(`ImageOps.exif_transpose`), and the pipeline works on RGBA. For every file named on the command line
this writes FILE.rgba (width x height x 4 bytes, row-major) and prints one JSON line:
{"file", "format", "mode", "width", "height"}, or {"file", "error"} when Pillow refuses it.

Run with Debian's /usr/bin/python3 (python3-pil 9.4).
"""
import json
import sys

from PIL import Image, ImageOps


def main() -> None:
    for path in sys.argv[1:]:
        try:
            with Image.open(path) as image:
                image.load()
                source_format, source_mode = image.format, image.mode
                rgba = ImageOps.exif_transpose(image).convert("RGBA")
        except Exception as err:  # Pillow raises several types for a file it cannot read
            print(json.dumps({"file": path, "error": f"{type(err).__name__}: {err}"}))
            continue
        with open(path + ".rgba", "wb") as out:
            out.write(rgba.tobytes())
        print(json.dumps({"file": path, "format": source_format, "mode": source_mode, "width": rgba.width, "height": rgba.height}))


if __name__ == "__main__":
    main()
