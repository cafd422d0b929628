#!/usr/bin/python3
"""PyAV peer for infra/bench/decode.sh: decode with frame threading, resize with swscale (bicubic)
to the reference size and center-crop to SIZE x SIZE RGB24 -- the same output as
`ffmpeg -vf fps=30,scale=W:H,crop=S:S -pix_fmt rgb24` for a 30 fps input (no resampling needed).

    decode_pyav.py THREADS SIZE FILE
Prints the number of frames."""
import sys

import av


def main() -> int:
    threads, size, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.thread_count = threads
        width, height = stream.codec_context.width, stream.codec_context.height
        if width <= height:
            out_w, out_h = size, height * size // width
        else:
            out_w, out_h = width * size // height, size
        x, y = (out_w - size) // 2, (out_h - size) // 2
        frames = 0
        checksum = 0
        for frame in container.decode(stream):
            rgb = frame.reformat(width=out_w, height=out_h, format="rgb24", interpolation="BICUBIC").to_ndarray()
            crop = rgb[y:y + size, x:x + size]
            checksum ^= int(crop[size // 2, size // 2, 0])
            frames += 1
    print(f"frames={frames} checksum={checksum}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
