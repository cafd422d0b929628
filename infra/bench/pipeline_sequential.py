#!/usr/bin/python3
"""Sequential baseline for infra/bench/pipeline.sh, the way the reference extractor works: for each video,
the ffmpeg CLI decodes ALL frames (fps=30, scale shorter side 224, crop 224) into one in-memory array, then
the frozen S3D-G (infra/bench/s3d_reference.py, Debian python3-torch) encodes it one batch of seconds at a time.

  pipeline_sequential.py MANIFEST.csv WEIGHTS BATCH THREADS
Prints "baseline videos=N seconds=S wall=W rate=R peak_rss_mb=M".
"""
import csv
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3d_reference import load_model  # noqa: E402


def scaled_size(path):
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                            "-of", "json", path], check=True, capture_output=True, text=True)
    stream = json.loads(probe.stdout)["streams"][0]
    w, h = stream["width"], stream["height"]
    return (224, w * 224 // h) if h < w else (h * 224 // w, 224)


def main():
    manifest, weights, batch, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    model = load_model(weights).eval()
    root = os.path.dirname(os.path.abspath(manifest))
    videos = seconds_total = 0
    start = time.perf_counter()
    with open(manifest, newline="") as f, torch.no_grad():
        for row in csv.DictReader(f):
            path = os.path.join(root, row["uri"])
            h, w = scaled_size(path)
            raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-vf", f"fps=30,scale={w}:{h},crop=224:224",
                                  "-pix_fmt", "rgb24", "-f", "rawvideo", "-"], check=True, capture_output=True).stdout
            frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 224, 224, 3)
            seconds = -(-len(frames) // 30)
            padded = np.zeros((seconds * 30, 224, 224, 3), dtype=np.uint8)
            padded[: len(frames)] = frames
            clips = torch.from_numpy(padded).view(seconds, 30, 224, 224, 3).permute(0, 4, 1, 2, 3)
            for i in range(0, seconds, batch):
                x = clips[i:i + batch].float() / 255.0
                embedding, _ = model(x)
                torch.nn.functional.normalize(embedding, dim=1)
            videos += 1
            seconds_total += seconds
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"baseline videos={videos} seconds={seconds_total} wall={wall:.3f} rate={seconds_total / wall:.4f} peak_rss_mb={peak:.0f}")


if __name__ == "__main__":
    main()
