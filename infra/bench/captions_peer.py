#!/usr/bin/python3
"""Baseline peer for infra/bench/captions.sh (Debian python3, standard library only).

  captions_peer.py generate N PATH [SEED]   write a synthetic HowTo100M raw_caption.json with N videos
  captions_peer.py import PATH OUT.json [SEED]
        the straightforward way: json.load the whole file, clean every video with the reference
        dedup (DESIGN section 3; the coin is the same seeded SplitMix64 as ours, so outputs are
        comparable), write a summary with counts and a checksum of the cleaned segments.
"""
import hashlib
import json
import random
import sys

MASK = (1 << 64) - 1
WORDS = ("now we are going to cut the onion into small pieces and then add some oil to the pan heat "
         "it up until golden brown stir well with salt pepper garlic tomato sauce minutes later serve").split()
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


def generate(n, path, seed):
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as out:
        out.write("{")
        for i in range(n):
            vid = "".join(rng.choice(ALPHABET) for _ in range(11))
            starts, ends, texts = [], [], []
            t = rng.random() * 3
            previous = []
            for _ in range(rng.randint(10, 69)):
                words = []
                if previous and rng.randrange(3) == 0:
                    words.extend(previous[rng.randrange(len(previous)):])
                words.extend(rng.choice(WORDS) for _ in range(rng.randint(2, 8)))
                duration = 1 + rng.random() * 4
                starts.append(round(t, 2))
                ends.append(round(t + duration, 2))
                texts.append(" ".join(words))
                t += duration * (0.6 + rng.random() * 0.6)
                previous = words
            if i:
                out.write(", ")
            out.write(json.dumps(vid))
            out.write(": ")
            out.write(json.dumps({"start": starts, "end": ends, "text": texts}))
        out.write("}")


class Coin:
    """SplitMix64 seeded by mix(seed) ^ fnv1a64(utf8(video id)); heads when next double > 0.5."""

    def __init__(self, seed, video_id):
        h = 0xCBF29CE484222325
        for b in video_id.encode("utf-8"):
            h = ((h ^ b) * 0x100000001B3) & MASK
        self.state = self._mix(seed) ^ h

    @staticmethod
    def _mix(z):
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def flip(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        return (self._mix(self.state) >> 11) * (1.0 / (1 << 53)) > 0.5


def dedup(caption, coin):
    starts, ends, texts = [], [], []
    for start, end, text in zip(caption["start"], caption["end"], caption["text"]):
        if not isinstance(text, str):
            continue
        text = " ".join(text.split())
        if not text:
            continue
        if not texts:
            starts.append(start); ends.append(end); texts.append(text)
            continue
        if texts[-1].endswith(text):
            ends[-1] = max(ends[-1], end)
        elif text.startswith(texts[-1]):
            texts[-1] = text
            starts[-1] = min(starts[-1], start)
            ends[-1] = max(ends[-1], end)
        else:
            for k in range(1, len(text) + 1):
                if texts[-1].endswith(text[:k]):
                    if coin.flip():
                        ends[-1] = max(ends[-1], start)
                        rest = text[k:].strip()
                        if rest:
                            s = max(ends[-1], start)
                            starts.append(s); ends.append(max(end, s)); texts.append(rest)
                    else:
                        left = texts[-1][:-k].strip()
                        if left:
                            ends[-1] = max(starts[-1], min(ends[-1], start))
                            texts[-1] = left
                        else:
                            starts.pop(); ends.pop(); texts.pop()
                        starts.append(start); ends.append(end); texts.append(text)
                    break
            else:
                starts.append(start); ends.append(end); texts.append(text)
    return starts, ends, texts


def run_import(path, out_path, seed):
    with open(path, encoding="utf-8") as f:
        captions = json.load(f)
    digest = hashlib.sha256()
    videos = segments = 0
    for video_id in sorted(captions):
        starts, ends, texts = dedup(captions[video_id], Coin(seed, video_id))
        videos += 1
        segments += len(texts)
        for s, e, t in zip(starts, ends, texts):
            digest.update(f"{video_id}\t{s:.3f}\t{e:.3f}\t{t}\n".encode("utf-8"))
    with open(out_path, "w") as out:
        json.dump({"videos": videos, "segments": segments, "sha256": digest.hexdigest()}, out)


if __name__ == "__main__":
    if sys.argv[1] == "generate":
        generate(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    elif sys.argv[1] == "import":
        run_import(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 0)
    else:
        sys.exit(__doc__)
