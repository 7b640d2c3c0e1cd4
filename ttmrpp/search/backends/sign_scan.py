"""Compressed full scan: the search of large collections (sign-bit codes on all cores).

A graph index must visit a large part of a big collection when the vectors have little
low-dimensional structure, and building the graph for a million tracks takes an hour on a
small machine. `SignScan` instead reads compact codes of every vector on every query, which
costs the same for any data and builds in seconds. The design follows RaBitQ (Gao & Long,
SIGMOD 2024) and faiss's fast scan:

1. Vectors are rotated by a fixed random orthogonal matrix and stored as their sign bits
   (16 bytes for up to 128 dimensions), plus a 4-bit copy of the vector (64 bytes and one
   float scale) for re-scoring.
2. A query is rotated and quantized to 4 bits per coordinate (odd levels -15..15, four bit
   planes); `sum_i v_i * sign_i` is then a weighted sum of 8 popcounts per vector, which numba
   compiles to vector popcount instructions. Each core scans its share of the codes.
3. A vector survives when its estimate beats a threshold read off a fixed sample of 8,192
   codes, aiming at `candidates` survivors. Survivors are found 64 scores at a time with one
   vector compare; their 4-bit rows are prefetched at once and scored after the next block has
   been scanned, so the random reads overlap the scan.
4. Each core keeps its best `max(32, 2k)` 4-bit scores; those are re-ranked with the float32
   vectors and the top k returned.

How many survivors give recall@10 >= 0.99 is calibrated on the collection itself
(`tune_candidates`), as `ttmrpp.search.backends.hnsw.tune_ef` does for HNSW. Written for this project because
no installable library offers a single-query compressed scan at this speed on two cores:
faiss's `PQ64x4fs` fast scan with exact re-ranking needs about 2 ms per query at recall 0.98
on a million vectors here (bench/index_fastscan.py), this scan about 0.8 ms (bench/index.py).
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from ttmrpp.search.backends.hnsw import (
    TARGET_RECALL,
    calibration_queries,
    exact_topk_batched,
    recall_at_k,
)

MAX_DIM = 128  # codes are two 64-bit words; smaller vectors are zero-padded
BITS = 4  # query bits per coordinate
LEVELS = 2**BITS - 1  # the largest odd level
SUB = 1024  # scores computed per block before survivors are picked out
KEEP = 32  # fewest 4-bit scores each core keeps for the exact re-rank
SAMPLE = 8192  # codes the survivor threshold is read from
SEED = 0  # of the rotation and the sample: the same vectors always give the same codes
CANDIDATE_LADDER = (1000, 2000, 4000, 6000, 8000, 12000, 16000, 24000, 32000, 48000, 64000)

_NJIT = {"fastmath": True, "nogil": True, "boundscheck": False, "cache": True}


@intrinsic
def _popcnt(typingctx, x):
    """Population count of a uint64 (LLVM ctpop: a vector popcount once vectorized)."""

    def codegen(context, builder, sig, args):
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


@intrinsic
def _cttz(typingctx, x):
    """Index of the lowest set bit of a non-zero uint64."""

    def codegen(context, builder, sig, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 1))

    return types.uint64(types.uint64), codegen


@intrinsic
def _le_mask64(typingctx, buf, start, thr):
    """Bit t set where buf[start + t] <= thr, for t < 64 (one vector compare, no branches)."""

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        i32 = ir.IntType(32)
        vt = ir.VectorType(i32, 64)
        ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), vt.as_pointer())
        vals = builder.load(ptr, align=4)
        limit = builder.insert_element(ir.Constant(vt, None), args[2], ir.Constant(i32, 0))
        limit = builder.shuffle_vector(limit, ir.Constant(vt, None), ir.Constant(vt, [0] * 64))
        return builder.bitcast(builder.icmp_signed("<=", vals, limit), ir.IntType(64))

    return types.uint64(buf, types.int64, types.int32), codegen


@intrinsic
def _prefetch_row(typingctx, arr, i):
    """Prefetch the cache line holding the start of row i of a C-contiguous 2-d array."""

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        stride = builder.extract_value(ary.strides, 0)
        addr = builder.add(builder.ptrtoint(ary.data, ir.IntType(64)), builder.mul(stride, args[1]))
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        mod = builder.module
        fn = mod.globals.get("llvm.prefetch.p0") or ir.Function(
            mod, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), "llvm.prefetch.p0"
        )
        builder.call(fn, [builder.inttoptr(addr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(arr, types.int64), codegen


@intrinsic
def _dot_nibbles(typingctx, x4, i, qlo, qhi):
    """sum_u qlo[u] * (x4[i, u] & 15) + qhi[u] * (x4[i, u] >> 4) over a 64-byte row, as one
    vector expression (numba would widen the bytes to 64-bit lanes)."""

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        ql = context.make_array(sig.args[2])(context, builder, args[2])
        qh = context.make_array(sig.args[3])(context, builder, args[3])
        i8, i32, f32 = ir.IntType(8), ir.IntType(32), ir.FloatType()
        bv, fv = ir.VectorType(i8, 64), ir.VectorType(f32, 64)
        stride = builder.extract_value(ary.strides, 0)
        row = builder.gep(
            builder.bitcast(ary.data, i8.as_pointer()), [builder.mul(stride, args[1])]
        )
        code = builder.load(builder.bitcast(row, bv.as_pointer()), align=1)
        low = builder.uitofp(builder.and_(code, ir.Constant(bv, [15] * 64)), fv)
        high = builder.uitofp(builder.lshr(code, ir.Constant(bv, [4] * 64)), fv)
        wl = builder.load(builder.bitcast(ql.data, fv.as_pointer()), align=4)
        wh = builder.load(builder.bitcast(qh.data, fv.as_pointer()), align=4)
        v = builder.fadd(builder.fmul(low, wl), builder.fmul(high, wh))
        width = 64
        while width > 1:  # pairwise tree sum
            width //= 2
            lanes = ir.VectorType(i32, width)
            a = builder.shuffle_vector(v, v, ir.Constant(lanes, list(range(width))))
            b = builder.shuffle_vector(v, v, ir.Constant(lanes, list(range(width, 2 * width))))
            v = builder.fadd(a, b)
        return builder.extract_element(v, ir.Constant(i32, 0))

    return types.float32(x4, types.int64, qlo, qhi), codegen


@njit(**_NJIT)
def _distances(lo, hi, p0l, p1l, p2l, p3l, p0h, p1h, p2h, p3h, out):
    """out[t] = sum_j 2^j popcount(code_t XOR plane_j): lower means a larger inner product."""
    for t in range(lo.shape[0]):
        x0 = lo[t]
        x1 = hi[t]
        out[t] = (
            (_popcnt(x0 ^ p0l) + _popcnt(x1 ^ p0h))
            + ((_popcnt(x0 ^ p1l) + _popcnt(x1 ^ p1h)) << 1)
            + ((_popcnt(x0 ^ p2l) + _popcnt(x1 ^ p2h)) << 2)
            + ((_popcnt(x0 ^ p3l) + _popcnt(x1 ^ p3h)) << 3)
        )


@njit(**_NJIT)
def _prepare(rot, q, slo, shi, sbuf, fraction):
    """Rotate and quantize the query into bit planes; place the survivor threshold."""
    d = q.shape[0]
    qr = np.zeros(MAX_DIM, np.float32)
    for a in range(d):
        acc = np.float32(0)
        for b in range(d):
            acc += rot[a, b] * q[b]
        qr[a] = acc
    top = np.float32(1e-12)
    for a in range(d):
        top = max(top, abs(qr[a]))
    pl = np.zeros(BITS, np.uint64)
    ph = np.zeros(BITS, np.uint64)
    for a in range(MAX_DIM):
        level = min(max(int(np.rint(qr[a] * (LEVELS / (2 * top)) + LEVELS / 2)), 0), LEVELS)
        for j in range(BITS):
            if (level >> j) & 1:
                if a < 64:
                    pl[j] |= np.uint64(1) << np.uint64(a)
                else:
                    ph[j] |= np.uint64(1) << np.uint64(a - 64)
    _distances(slo, shi, pl[0], pl[1], pl[2], pl[3], ph[0], ph[1], ph[2], ph[3], sbuf)
    # distances are small integers: a histogram places the threshold without sorting
    hist = np.zeros(LEVELS * MAX_DIM + 1, np.int64)
    for t in range(sbuf.shape[0]):
        hist[sbuf[t]] += 1
    want = max(int(np.ceil(fraction * sbuf.shape[0])), 1)
    seen = 0
    thr = 0
    for v in range(hist.shape[0]):
        seen += hist[v]
        thr = v
        if seen >= want:
            break
    return pl, ph, np.int32(thr)


@njit(**_NJIT)
def _score_range(x4, scale4, qe, qo, qsum8, cand, a, b, offset, top_i, top_s, worst, worst_s):
    """Score survivors cand[a:b] from their 4-bit rows; keep the best in top_i/top_s."""
    for c in range(a, b):
        i = offset + cand[c]
        s = (_dot_nibbles(x4, i, qe, qo) - qsum8) * scale4[i]
        if s > worst_s:
            top_s[worst] = s
            top_i[worst] = i
            worst, worst_s = 0, top_s[0]
            for t in range(1, top_s.shape[0]):
                if top_s[t] < worst_s:
                    worst, worst_s = t, top_s[t]
    return worst, worst_s


@njit(**_NJIT)
def _scan_part(lo, hi, x4, scale4, allowed, pl, ph, qe, qo, thr, offset, cand, top_i, top_s):
    """Scan rows [offset, offset + len(lo)) and keep the best re-scored survivors.

    A block's survivors are prefetched as soon as they are found and scored after the next
    block has been scanned, so their random memory reads overlap the scan."""
    n = lo.shape[0]
    buf = np.empty(SUB, np.int32)
    qsum8 = np.float32(8) * (qe.sum() + qo.sum())  # the stored levels are offset by 8
    top_s[:] = -np.inf
    top_i[:] = -1
    worst, worst_s = 0, -np.inf
    filtered = allowed.shape[0] > 0
    cnt = 0
    pending = 0  # survivors before `pending` have been scored
    cap = cand.shape[0]
    for st in range(0, n, SUB):
        en = min(st + SUB, n)
        if en - st < SUB:
            buf[:] = 1 << 30
        _distances(
            lo[st:en], hi[st:en], pl[0], pl[1], pl[2], pl[3], ph[0], ph[1], ph[2], ph[3], buf
        )
        found = cnt
        for g in range(0, SUB, 64):
            m = _le_mask64(buf, g, thr)
            while m != 0 and cnt < cap:
                j = st + g + np.int64(_cttz(m))
                m &= m - np.uint64(1)
                if filtered and not allowed[offset + j]:
                    continue
                cand[cnt] = j
                _prefetch_row(x4, offset + j)
                cnt += 1
        worst, worst_s = _score_range(
            x4, scale4, qe, qo, qsum8, cand, pending, found, offset, top_i, top_s, worst, worst_s
        )
        pending = found
    _score_range(
        x4, scale4, qe, qo, qsum8, cand, pending, cnt, offset, top_i, top_s, worst, worst_s
    )
    return cnt


@njit(parallel=True, **_NJIT)
def _search(lo, hi, x4, scale4, allowed, vectors, pl, ph, q, thr, cand, top_i, top_s, counts, k):
    n = lo.shape[0]
    parts = counts.shape[0]
    step = ((n + parts - 1) // parts + SUB - 1) // SUB * SUB
    cap = cand.shape[0] // parts
    keep = top_i.shape[0] // parts
    qe = np.zeros(MAX_DIM // 2, np.float32)  # weights of the low and high nibbles
    qo = np.zeros(MAX_DIM // 2, np.float32)
    for u in range(q.shape[0]):
        if u % 2 == 0:
            qe[u // 2] = q[u]
        else:
            qo[u // 2] = q[u]
    for c in prange(parts):
        st = min(c * step, n)
        en = min(st + step, n)
        counts[c] = _scan_part(
            lo[st:en], hi[st:en], x4, scale4, allowed, pl, ph, qe, qo, thr, st,
            cand[c * cap : (c + 1) * cap], top_i[c * keep : (c + 1) * keep],
            top_s[c * keep : (c + 1) * keep],
        )  # fmt: skip
    m = top_i.shape[0]
    exact = np.full(m, -np.inf, np.float32)
    for t in range(m):
        i = top_i[t]
        if i >= 0:
            acc = np.float32(0)
            for u in range(vectors.shape[1]):
                acc += vectors[i, u] * q[u]
            exact[t] = acc
    order = np.argsort(-exact)[:k]
    order = order[exact[order] > -np.inf]
    return top_i[order], exact[order]


class SignScan:
    """Sign-bit and 4-bit codes of unit vectors (rows in insertion order).

    The float32 vectors themselves stay with the caller and are passed to `search` for the
    final exact re-rank (the engine keeps them anyway), so the codes add 84 bytes per vector.
    """

    def __init__(self, dim: int) -> None:
        if dim > MAX_DIM:
            raise ValueError(f"SignScan handles up to {MAX_DIM} dimensions, not {dim}")
        self.dim = dim
        rng = np.random.default_rng(SEED)
        self.rot = np.linalg.qr(rng.standard_normal((dim, dim)))[0].astype(np.float32)
        self.lo = np.zeros(0, np.uint64)
        self.hi = np.zeros(0, np.uint64)
        self.x4 = np.zeros((0, MAX_DIM // 2), np.uint8)
        self.scale4 = np.zeros(0, np.float32)
        self._resample()

    def __len__(self) -> int:
        return len(self.lo)

    @property
    def nbytes(self) -> int:
        return self.lo.nbytes + self.hi.nbytes + self.x4.nbytes + self.scale4.nbytes

    def add(self, vectors: np.ndarray) -> None:
        """Append the codes of `vectors` [n, dim] (unit norm; zero rows are allowed)."""
        x = np.asarray(vectors, np.float32).reshape(-1, self.dim)
        if not len(x):
            return
        pad = np.zeros((len(x), MAX_DIM), np.float32)
        pad[:, : self.dim] = x @ self.rot.T
        words = np.packbits(pad > 0, axis=1, bitorder="little").view(np.uint64)
        pad[:, : self.dim] = x
        pad[:, self.dim :] = 0
        top = np.maximum(np.abs(pad).max(1, keepdims=True), 1e-12)
        levels = (np.rint(pad / top * 7) + 8).astype(np.uint8)  # 1..15; 8 is zero
        self.lo = np.concatenate([self.lo, words[:, 0]])
        self.hi = np.concatenate([self.hi, words[:, 1]])
        self.x4 = np.concatenate([self.x4, levels[:, 0::2] | (levels[:, 1::2] << 4)])
        self.scale4 = np.concatenate([self.scale4, (top[:, 0] / 7).astype(np.float32)])
        self._resample()

    def _resample(self) -> None:
        n = len(self.lo)
        rng = np.random.default_rng(SEED)
        rows = np.sort(rng.choice(n, SAMPLE, replace=False)) if n > SAMPLE else np.arange(n)
        self._slo, self._shi = self.lo[rows], self.hi[rows]
        if not len(rows):  # an empty scan: one all-zero code keeps the kernels' shapes valid
            self._slo, self._shi = np.zeros(1, np.uint64), np.zeros(1, np.uint64)

    def search(
        self,
        query: np.ndarray,
        k: int,
        candidates: int,
        vectors: np.ndarray,
        allowed: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Approximate top-k rows by inner product: (rows, exact scores), best first.

        `vectors` [len(self), dim] float32 are the vectors the codes were made from (for the
        exact re-rank); `allowed` is an optional bool mask over rows (deleted rows, filters).
        Fewer than k rows come back when fewer survive; callers fall back to exact search.
        """
        n = len(self)
        if n == 0 or k < 1:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        q = np.ascontiguousarray(query, np.float32).reshape(self.dim)
        live = n
        mask = np.zeros(0, np.uint8)
        if allowed is not None:
            mask = np.ascontiguousarray(allowed)
            mask = mask.view(np.uint8) if mask.dtype == np.bool_ else mask.astype(np.uint8)
            live = int(np.count_nonzero(mask))
            if live == 0:
                return np.zeros(0, np.int64), np.zeros(0, np.float32)
        fraction = min(1.0, candidates / live)
        sbuf = np.empty(len(self._slo), np.int32)  # per call: searches may run concurrently
        pl, ph, thr = _prepare(self.rot, q, self._slo, self._shi, sbuf, fraction)
        parts = max(1, min(numba.get_num_threads(), -(-n // SUB)))
        per_part = (-(-n // parts) + SUB - 1) // SUB * SUB  # rows per part, as in _search
        cap = min(per_part, int(4 * fraction * per_part) + 4 * SUB)
        keep = max(KEEP, 2 * k)
        counts = np.zeros(parts, np.int64)
        cand = np.empty(parts * cap, np.int64)
        top_i = np.empty(parts * keep, np.int64)
        top_s = np.empty(parts * keep, np.float32)
        return _search(
            self.lo, self.hi, self.x4, self.scale4, mask, vectors, pl, ph, q, thr,
            cand, top_i, top_s, counts, k,
        )  # fmt: skip


def tune_candidates(
    scan: SignScan,
    vectors: np.ndarray,
    rows: np.ndarray | None = None,
    queries: np.ndarray | None = None,
    k: int = 10,
    target: float = TARGET_RECALL,
    allowed: np.ndarray | None = None,
) -> tuple[int, float]:
    """The smallest survivor count on `CANDIDATE_LADDER` whose recall@k against exact search
    reaches `target`. `rows` are the live rows (all by default), `allowed` their mask.
    Returns (candidates, recall)."""
    rows = np.arange(len(scan)) if rows is None else np.asarray(rows)
    data = vectors[rows]
    if queries is None:
        queries = calibration_queries(data, min(200, len(data)))
    k = min(k, len(data))
    truth = rows[exact_topk_batched(data, queries, k)]
    ladder = [c for c in CANDIDATE_LADDER if c < len(rows)] + [len(rows)]
    cands, rec = ladder[-1], 0.0
    for cands in ladder:
        rec = recall_at_k([scan.search(q, k, cands, vectors, allowed)[0] for q in queries], truth)
        if rec >= target:
            break
    return cands, rec
