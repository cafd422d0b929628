"""The peer for infra/bench/train.sh: a VideoCLIP training loader written the way the reference (fairseq
examples/MMPT) does it -- per-shard numpy arrays (memory-mapped float16 features, caption start/end pairs and
token ids padded with -1), a torch Dataset whose __getitem__ samples clip_per_video overlapped clips of one
video with Python's `random`, and a PyTorch DataLoader with worker processes that concatenates the videos'
clips into a batch. Prints one RESULT line per epoch.

    python3 train_loader.py NUMPY_DIR EPOCHS BATCH_VIDEOS CLIPS WORKERS
"""
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

CLS, SEP, PAD = 101, 102, 0
MAX_VIDEO_LEN, MAX_LEN = 32, 96
MAX_TEXT = MAX_LEN - MAX_VIDEO_LEN - 3  # 61 text tokens; caption sequence of 64


class ShardedHow2(Dataset):
    def __init__(self, root, clips):
        meta = json.load(open(os.path.join(root, "meta.json")))
        self.root, self.clips, self.per_shard = root, clips, meta["videos_per_shard"]
        self.ids = meta["ids"]
        self.shards = {}

    def _shard(self, s):
        # Opened lazily in each worker, memory-mapped as the reference's ShardedTensor.load(..., "r").
        if s not in self.shards:
            name = os.path.join(self.root, "shard-%05d" % s)
            self.shards[s] = {k: np.load("%s.%s.npy" % (name, k), mmap_mode="r")
                              for k in ("feats", "offsets", "seg_offsets", "startends", "caps_ids")}
        return self.shards[s]

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, idx):
        shard = self._shard(idx // self.per_shard)
        i = idx % self.per_shard
        feat = shard["feats"][shard["offsets"][i]:shard["offsets"][i + 1]]
        lo, hi = shard["seg_offsets"][i], shard["seg_offsets"][i + 1]
        startend = shard["startends"][lo:hi]
        cap_ids = shard["caps_ids"][lo:hi]
        text = {"start": startend[:, 0].tolist(), "end": startend[:, 1].tolist(),
                "cap": [row[row != -1].tolist() for row in cap_ids]}
        out = [self.sample(feat, text) for _ in range(self.clips)]
        batch = {k: torch.stack([o[k] for o in out]) for k in ("caps", "cmasks", "vfeats", "vmasks")}
        batch["video_id"] = [self.ids[idx]] * self.clips
        return batch

    def text_span(self, text, center, budget):
        n = len(text["start"])
        first, last = center, center
        tokens = len(text["cap"][center])
        span = max(0, text["end"][center] - text["start"][center])
        while (first > 0 or last < n - 1) and tokens < budget and span < 256:
            if random.random() > 0.5 and last < n - 1:
                last += 1
                tokens += len(text["cap"][last])
            elif first > 0:
                first -= 1
                tokens += len(text["cap"][first])
            else:
                last += 1
                tokens += len(text["cap"][last])
            span = max(0, text["end"][last] - text["start"][first])
        return first, last

    def sample(self, feat, text):
        center = random.randint(0, len(text["start"]) - 1)
        first, last = self.text_span(text, center, random.randint(8, 64))
        seconds = len(feat)
        low, high = math.floor(text["start"][first]), math.ceil(text["end"][last])
        c = random.randint(low, high) if low < high else int((low + high) // 2)
        c = max(0, min(seconds - 1, c))
        length, start, end, grown = random.randint(3, 32), c, c, 0
        while (start > 0 or end < seconds) and grown < length:
            if start <= 0:
                end += 1
            elif end >= seconds:
                start -= 1
            elif random.random() > 0.5:
                end += 1
            else:
                start -= 1
            grown += 1
        vfeats = np.zeros((MAX_VIDEO_LEN, feat.shape[1]), dtype=np.float32)
        vmasks = torch.zeros((MAX_VIDEO_LEN,), dtype=torch.bool)
        used = min(MAX_VIDEO_LEN, end - start)
        vfeats[:used] = feat[start:start + used]
        vmasks[:used] = 1
        caps = []
        for s in range(first, last + 1):
            caps.extend(text["cap"][s])
        caps = [CLS, SEP] + caps[:MAX_TEXT] + [SEP]
        cmasks = torch.zeros((MAX_LEN - MAX_VIDEO_LEN,), dtype=torch.bool)
        cmasks[:len(caps)] = 1
        caps = torch.LongTensor(caps + [PAD] * (MAX_LEN - MAX_VIDEO_LEN - len(caps)))
        return {"caps": caps, "cmasks": cmasks, "vfeats": torch.from_numpy(vfeats), "vmasks": vmasks}


def collate(videos):
    batch = {k: torch.cat([v[k] for v in videos]) for k in ("caps", "cmasks", "vfeats", "vmasks")}
    batch["video_id"] = [i for v in videos for i in v["video_id"]]
    return batch


def main():
    root, epochs, batch_videos, clips, workers = sys.argv[1], *map(int, sys.argv[2:6])
    torch.set_num_threads(1)
    dataset = ShardedHow2(root, clips)
    for epoch in range(epochs):
        torch.manual_seed(epoch)
        loader = DataLoader(dataset, batch_size=batch_videos, shuffle=True, drop_last=True,
                            num_workers=workers, collate_fn=collate)
        started, batches, clips_seen = time.perf_counter(), 0, 0
        for batch in loader:
            assert batch["vfeats"].shape == (batch_videos * clips, MAX_VIDEO_LEN, 512)
            clips_seen += batch["caps"].shape[0]
            batches += 1
        seconds = time.perf_counter() - started
        print("RESULT peer epoch=%d batches=%d clips=%d seconds=%.3f batches_per_s=%.3f"
              % (epoch, batches, clips_seen, seconds, batches / seconds), flush=True)


if __name__ == "__main__":
    main()
