#!/usr/bin/env python3
"""FAISS peer for infra/bench/cluster.sh (Debian python3-faiss, system OpenBLAS).

  cluster_faiss.py gen VECTORS QUERIES N D SEED
      writes N x D standard-normal float32 vectors and N // 32 distinct query rows (int32), the way the
      reference samples its queries (without replacement).
  cluster_faiss.py search VECTORS QUERIES N D K THREADS OURS
      times IndexFlatL2 (exact) and IndexIVFFlat with 512 centroids as the reference uses it (train on
      512 * 48 vectors, add all, search with nprobe 1), each for K + 1 neighbours with the query itself
      dropped (the reference drops it by id); prints RESULT lines with times and recall@K against our
      neighbours (OURS, int32 [Q, K]): recall@K of ours, IndexFlatL2 and the IVF index against a float64
      ground truth on the first 256 queries, and the overlap of ours with IndexFlatL2 on all queries.
"""
import sys
import time

import numpy as np


def gen(vectors, queries, n, d, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d), dtype=np.float32)
    x.tofile(vectors)
    q = rng.choice(n, n // 32, replace=False).astype(np.int32)
    q.tofile(queries)
    print(f"RESULT gen n={n} d={d} queries={len(q)}")


def drop_self(found, rows, k):
    """The K nearest besides the query: drop the query's own row wherever it is, else the last."""
    out = np.empty((len(rows), k), dtype=np.int64)
    for i, row in enumerate(rows):
        r = found[i]
        keep = r[r != row]
        out[i] = keep[:k]
    return out


def recall(found, truth):
    hits = 0
    for a, b in zip(found, truth):
        hits += len(np.intersect1d(a, b, assume_unique=False))
    return hits / truth.size


def search(vectors, queries, n, d, k, threads, ours_path):
    import faiss

    faiss.omp_set_num_threads(threads)
    x = np.fromfile(vectors, dtype=np.float32).reshape(n, d)
    rows = np.fromfile(queries, dtype=np.int32)
    q = x[rows]
    ours = np.fromfile(ours_path, dtype=np.int32).reshape(len(rows), k)

    t = time.perf_counter()
    c = time.process_time()
    flat = faiss.IndexFlatL2(d)
    flat.add(x)
    _, found = flat.search(q, k + 1)
    flat_s = time.perf_counter() - t
    flat_cpu = time.process_time() - c
    flat_k = drop_self(found, rows, k)

    t = time.perf_counter()
    c = time.process_time()
    quantizer = faiss.IndexFlatL2(d)
    ivf = faiss.IndexIVFFlat(quantizer, d, 512, faiss.METRIC_L2)
    train = x[np.random.default_rng(1).choice(n, min(n, 512 * 48), replace=False)]
    ivf.train(train)
    ivf.add(x)
    ivf.nprobe = 1
    _, found = ivf.search(q, k + 1)
    ivf_s = time.perf_counter() - t
    ivf_cpu = time.process_time() - c
    ivf_k = drop_self(np.where(found < 0, -1, found), rows, k)

    # Ground truth in float64 for a sample of queries: the true 64 nearest besides the query (ties by row).
    sample = min(len(rows), 256)
    x64 = x.astype(np.float64)
    norms = (x64 * x64).sum(1)
    truth = np.empty((sample, k), dtype=np.int64)
    for i in range(sample):
        dist = norms - 2 * (x64 @ x64[rows[i]]) + norms[rows[i]]
        dist[rows[i]] = np.inf
        order = np.lexsort((np.arange(n), dist))
        truth[i] = order[:k]

    print(f"RESULT faiss_flat_s={flat_s:.3f} faiss_flat_cpu_s={flat_cpu:.3f} faiss_ivf_s={ivf_s:.3f} faiss_ivf_cpu_s={ivf_cpu:.3f} threads={faiss.omp_get_max_threads()} "
          f"recall_ours={recall(ours[:sample], truth):.6f} recall_flat={recall(flat_k[:sample], truth):.6f} "
          f"recall_ivf={recall(ivf_k[:sample], truth):.6f} ours_vs_flat_all={recall(ours, flat_k):.6f} truth_queries={sample}")


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
    elif sys.argv[1] == "search":
        search(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), sys.argv[8])
    else:
        sys.exit("usage: cluster_faiss.py gen|search ...")
