/*
 * attention_fused.cu - causal multi-head attention in three kernels that
 * never write the T x T matrices to memory (the same math as attention.cu
 * and chapter 03's multihead_* functions; the bf16 mode's attention).
 *
 * attention.cu writes the scores, the softmax and its dropped copy for
 * every (batch row, head) pair: at batch 64, 6 heads and T 256 that is
 * three 100 MB tensors per layer, written and read again in the backward
 * pass. Yet each row of those matrices is made from one query and a tile
 * of keys, and used at once. So here a thread block takes one (batch row,
 * head, tile of 64 positions), keeps its tiles of q, k, v on chip, makes
 * each 64 x 64 block of scores in shared memory, uses it, and moves on:
 * the idea of FlashAttention (Dao et al., 2022), written plainly.
 *
 *   forward, per query tile i:   for key tiles j <= i (causal):
 *       S = q_i k_j^T * scale,  running max m and sum l of exp(S - m) per
 *       row ("online softmax": earlier partial sums are rescaled by
 *       exp(m_old - m_new) when the max grows), o += dropout(exp(S - m)) v_j
 *     then y = o / l, and lse = m + log l is saved: the backward pass
 *     recomputes any softmax weight from it, P = exp(S - lse).
 *   backward, with D = rowsum(dy * y) (a small kernel first):
 *       dP = dy v^T,  dS = P * (dP * mask - D)     (softmax backward)
 *     per key tile j (all i >= j):  dv_j += (P * mask)^T dy_i, dk_j += dS^T q_i
 *     per query tile i (all j <= i): dq_i += dS k_j
 *     Two kernels, so that each block owns what it writes: no atomics, and
 *     the result is the same every run.
 *
 * The products run on the tensor cores through WMMA: each warp multiplies
 * 16 x 16 fragments of bf16 operands with fp32 accumulation. A block is 4
 * warps; warp w owns rows 16w..16w+15 of every 64 x 64 product, and does
 * the softmax work of those rows itself, so warps wait for each other only
 * when a new tile arrives. Operands are converted to bf16 as they are
 * loaded; everything else (softmax, sums, outputs) is fp32. The head size
 * is fixed at 64 (the GPT's 384 / 6); attention.cu handles other shapes.
 *
 * What limits such a kernel is how many warps an SM can keep in flight to
 * hide each other's waits, and that is set by shared memory and registers
 * per block. So the tile a block keeps for its whole life (q in the
 * forward and dq kernels) lives in registers as WMMA fragments, and the
 * bf16 softmax weights are written over the fp32 scores they come from.
 *
 * Dropout draws the same mask as attention.cu (row_key and
 * weight_dropout_scale on the same row and column), so the two paths
 * compute the same function; the Check suite compares them.
 */
#include <math.h>
#include <mma.h>
#include <type_traits>

#include "cuda_internal.cuh"
#include "cuda_layers.h"

using namespace nvcuda;

#define HS 64                       /* head size */
#define TILE 64                     /* positions per tile (= HS: all tiles are 64 x 64) */
#define FUSED_THREADS 128           /* 4 warps */
#define LDH (TILE + 8)              /* bf16 row stride: 16 bytes of padding, no bank conflicts */
#define LDF (TILE + 4)              /* fp32 row stride, likewise */
#define LDP (2 * LDF)               /* bf16 written over an fp32 tile: same bytes per row */
#define TILE_BF16 (TILE * LDH)      /* elements of one bf16 tile */
#define TILE_F32 (TILE * LDF)       /* elements of one fp32 tile */

typedef wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc_fragment;
typedef wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> a_fragment;

/* -------------------------------------------------------------- tiles */

__device__ inline int warp_id(void) { return threadIdx.x / WARP; }
__device__ inline int lane_id(void) { return threadIdx.x % WARP; }

/* Element (r, c) of a matrix stored with leading dimension ld in layout L. */
template <typename L> __device__ inline const bf16 *at(const bf16 *m, int ld, int r, int c) {
    return std::is_same<L, wmma::row_major>::value ? m + r * ld + c : m + c * ld + r;
}

/* acc[n] += rows 16w..16w+15 of A (64 x 64) times column block n of B
 * (64 x 64), for the calling warp w. A layout of col_major reads a
 * row-major array as its transpose: that is how P^T and dS^T are used. */
template <typename LA, typename LB>
__device__ void strip_mma(acc_fragment acc[4], const bf16 *a, int lda, const bf16 *b, int ldb) {
    int w = warp_id();
    for (int k = 0; k < TILE; k += 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, LA> fa;
        wmma::load_matrix_sync(fa, at<LA>(a, lda, 16 * w, k), lda);
        for (int n = 0; n < 4; n++) {
            wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, LB> fb;
            wmma::load_matrix_sync(fb, at<LB>(b, ldb, k, 16 * n), ldb);
            wmma::mma_sync(acc[n], fa, fb, acc[n]);
        }
    }
}

__device__ inline void zero(acc_fragment acc[4]) {
    for (int n = 0; n < 4; n++)
        wmma::fill_fragment(acc[n], 0.0f);
}

/* The warp's 16 rows of a bf16 tile as A operands, one fragment per step
 * of 16 along k: kept in registers by a block that uses them throughout. */
__device__ void load_a_strip(a_fragment a[4], const bf16 *tile) {
    for (int k = 0; k < 4; k++)
        wmma::load_matrix_sync(a[k], tile + 16 * warp_id() * LDH + 16 * k, LDH);
}

/* The warp's rows of a 64 x 64 fp32 tile in shared memory, from or to its
 * fragments. */
__device__ inline void store_strip(float *dst, const acc_fragment acc[4]) {
    for (int n = 0; n < 4; n++)
        wmma::store_matrix_sync(dst + 16 * warp_id() * LDF + 16 * n, acc[n], LDF,
                                wmma::mem_row_major);
}

__device__ inline void load_strip(acc_fragment acc[4], const float *src) {
    for (int n = 0; n < 4; n++)
        wmma::load_matrix_sync(acc[n], src + 16 * warp_id() * LDF + 16 * n, LDF,
                               wmma::mem_row_major);
}

/* The warp's rows of dst (64 x 64 fp32) = a b^T, with a given as the
 * warp's A fragments and b a row-major bf16 tile read transposed (q k^T,
 * dy v^T). */
__device__ void product_abt(float *dst, const a_fragment a[4], const bf16 *b) {
    acc_fragment acc[4];
    zero(acc);
    for (int k = 0; k < 4; k++)
        for (int n = 0; n < 4; n++) {
            wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> fb;
            wmma::load_matrix_sync(fb, b + 16 * n * LDH + 16 * k, LDH);
            wmma::mma_sync(acc[n], a[k], fb, acc[n]);
        }
    store_strip(dst, acc);
}

/* Rows t0..t0+63 of one head's 64 columns of an operand as a bf16 tile;
 * `src` is the head's first column in row 0, rows are `width` elements
 * apart; rows at or past T are zeros. Each thread moves 4 elements at a
 * time (one 16-byte float or 8-byte bf16 load). */
template <typename E>
__device__ void load_tile(bf16 *dst, const E *src, int t0, int T, int width) {
    for (int i = threadIdx.x; i < TILE * HS / 4; i += FUSED_THREADS) {
        int r = i / (HS / 4), c = 4 * (i % (HS / 4));
        float4 x = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (t0 + r < T)
            x = load4(src + (size_t)(t0 + r) * width + c);
        __nv_bfloat162 *d = (__nv_bfloat162 *)(dst + r * LDH + c);
        d[0] = __floats2bfloat162_rn(x.x, x.y);
        d[1] = __floats2bfloat162_rn(x.z, x.w);
    }
}

/* One 64 x 64 fp32 tile (row stride LDF) out to rows t0.. (< T) of one
 * head's columns of a (B,T,width) operand, times `scale`. */
template <typename E>
__device__ void store_tile(E *dst, const float *tile, int t0, int T, int width, float scale) {
    for (int i = threadIdx.x; i < TILE * HS; i += FUSED_THREADS) {
        int r = i / HS, c = i % HS;
        if (t0 + r < T)
            store(dst + (size_t)(t0 + r) * width + c, tile[r * LDF + c] * scale);
    }
}

/* Where a block works: (batch row b, head h), the first float of that head
 * in row 0 of qkv (B,T,3C) and of a (B,T,C) tensor, and its first row of
 * (B,NH,T) per-row arrays (lse, D) and of attention weights. */
typedef struct {
    int b, h, C;
    size_t qkv, flat, rows;
} head_at;

__device__ inline head_at this_head(int T, int NH) {
    head_at a;
    a.b = blockIdx.z, a.h = blockIdx.y, a.C = NH * HS;
    a.qkv = (size_t)a.b * T * 3 * a.C + (size_t)a.h * HS;
    a.flat = (size_t)a.b * T * a.C + (size_t)a.h * HS;
    a.rows = ((size_t)a.b * NH + a.h) * T;
    return a;
}

/* The softmax work on a warp's 16 rows goes in two passes of 8 rows. In
 * a pass, lanes 4i..4i+3 share row i, and lane 4i + q takes the columns q,
 * q + 4, ..., q + 60 of it: at each step the warp's 32 lanes read 32
 * different banks of shared memory, each lane has 16 independent columns
 * to work on, and a row's max or sum takes two shuffles. */
#define PASSES 2
#define COLS_PER_LANE (TILE / 4)

__device__ inline int pass_row(int pass) { return 16 * warp_id() + 8 * pass + lane_id() / 4; }
__device__ inline int lane_col(int j) { return lane_id() % 4 + 4 * j; }

__device__ inline float row_max(float x) {
    x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
    return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}

__device__ inline float row_sum(float x) {
    x += __shfl_xor_sync(0xffffffffu, x, 1);
    return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

/* Dropout of the weights of this lane's two rows (query tile at t0):
 * row_key once per row, then one cheap hash per weight. */
typedef struct {
    uint32_t key[PASSES], threshold;
    float scale; /* 1 / (1 - p) */
    bool on;
} weight_dropout;

__device__ inline weight_dropout dropout_rows(head_at a, int t0, float p, uint64_t seed) {
    weight_dropout d;
    d.on = p > 0.0f;
    #pragma unroll
    for (int pass = 0; pass < PASSES; pass++)
        d.key[pass] = d.on ? row_key(seed, a.rows + t0 + pass_row(pass)) : 0;
    d.threshold = keep_threshold(p);
    d.scale = 1.0f / (1.0f - p);
    return d;
}

/* The multiplier of weight (this lane's row in `pass`, key position u). */
__device__ inline float weight_keep(const weight_dropout *d, int pass, int u) {
    return d->on ? weight_dropout_scale(d->key[pass], (uint32_t)u, d->threshold, d->scale) : 1.0f;
}

/* The same for row 16w + i of the tile (i < 16), asked by every lane of
 * the warp at once: the key comes by a shuffle from a lane that holds it. */
__device__ inline float weight_keep_row(const weight_dropout *d, int i, int u) {
    uint32_t key = __shfl_sync(0xffffffffu, i < 8 ? d->key[0] : d->key[1], (i % 8) * 4);
    return d->on ? weight_dropout_scale(key, (uint32_t)u, d->threshold, d->scale) : 1.0f;
}

/* -------------------------------------------------------------- forward */

template <typename E>
__global__ void __launch_bounds__(FUSED_THREADS)
    fused_forward_kernel(E *out, float *lse, const E *qkv, int T, int NH, float scale,
                         float p, uint64_t seed) {
    extern __shared__ __align__(128) unsigned char smem[];
    bf16 *k = (bf16 *)smem, *v = k + TILE_BF16;
    float *s = (float *)(v + TILE_BF16), *o = s + TILE_F32;
    bf16 *pd = (bf16 *)s; /* the weights, over the scores they come from */
    head_at a = this_head(T, NH);
    int qt = gridDim.x - 1 - blockIdx.x; /* the longest rows (most key tiles) start first */
    int q0 = qt * TILE, C = a.C;
    a_fragment q[4];
    load_tile(k, qkv + a.qkv, q0, T, 3 * C); /* q passes through k's space into registers */
    __syncthreads();
    load_a_strip(q, k);
    weight_dropout drop = dropout_rows(a, q0, p, seed);
    float m[PASSES], l[PASSES]; /* this lane's rows' running max and sum */
    #pragma unroll
    for (int pass = 0; pass < PASSES; pass++) {
        m[pass] = -INFINITY, l[pass] = 0.0f;
        for (int j = 0; j < COLS_PER_LANE; j++)
            o[pass_row(pass) * LDF + lane_col(j)] = 0.0f;
    }
    for (int kt = 0; kt <= qt; kt++) {
        int k0 = kt * TILE;
        __syncthreads(); /* every warp is done with the previous k and v (and q's staging) */
        load_tile(k, qkv + a.qkv + C, k0, T, 3 * C);
        load_tile(v, qkv + a.qkv + 2 * C, k0, T, 3 * C);
        __syncthreads();
        product_abt(s, q, k); /* this warp's 16 rows of scores */
        __syncwarp();
        /* online softmax of each row's 64 new scores */
        #pragma unroll
        for (int pass = 0; pass < PASSES; pass++) {
            int r = pass_row(pass), t = q0 + r;
            float x[COLS_PER_LANE], tile_max = -INFINITY;
#pragma unroll
            for (int j = 0; j < COLS_PER_LANE; j++) {
                int u = k0 + lane_col(j);
                x[j] = u <= t && t < T ? s[r * LDF + lane_col(j)] * scale : -INFINITY;
                tile_max = fmaxf(tile_max, x[j]);
            }
            float m_new = fmaxf(m[pass], row_max(tile_max));
            float base = m_new == -INFINITY ? 0.0f : m_new; /* rows past T see no key */
            float rescale = __expf(m[pass] - base), sum = 0.0f;
#pragma unroll
            for (int j = 0; j < COLS_PER_LANE; j++) {
                float e = __expf(x[j] - base);
                sum += e;
                x[j] = e * weight_keep(&drop, pass, k0 + lane_col(j));
            }
            l[pass] = l[pass] * rescale + row_sum(sum);
            m[pass] = m_new;
            __syncwarp(); /* the row's scores are all read: its weights may overwrite them */
#pragma unroll
            for (int j = 0; j < COLS_PER_LANE; j++) {
                pd[r * LDP + lane_col(j)] = __float2bfloat16(x[j]);
                o[r * LDF + lane_col(j)] *= rescale;
            }
        }
        __syncwarp();
        /* o += dropout(P) v, this warp's rows */
        acc_fragment acc[4];
        load_strip(acc, o);
        strip_mma<wmma::row_major, wmma::row_major>(acc, pd, LDP, v, LDH);
        store_strip(o, acc);
        __syncwarp();
    }
    #pragma unroll
    for (int pass = 0; pass < PASSES; pass++) {
        int r = pass_row(pass), t = q0 + r;
        if (t >= T)
            continue;
        E *y = out + a.flat + (size_t)t * C;
        for (int j = 0; j < COLS_PER_LANE; j++)
            store(y + lane_col(j), o[r * LDF + lane_col(j)] / l[pass]);
        if (lane_col(0) == 0)
            lse[a.rows + t] = m[pass] + logf(l[pass]);
    }
}

/* -------------------------------------------------------------- backward */

/* D[bh, t] = sum over the head's columns of dy * y: the softmax backward's
 * row term sum_u P_tu dP_tu, which equals dy . y. One warp per row. */
template <typename E>
__global__ void row_dot_kernel(float *D, const E *out, const E *dout, int B, int T, int NH) {
    int row = blockIdx.x * (BLOCK_THREADS / WARP) + threadIdx.x / WARP, lane = threadIdx.x % WARP;
    if (row >= B * NH * T)
        return;
    int t = row % T, h = (row / T) % NH, b = row / (T * NH);
    size_t at = ((size_t)b * T + t) * NH * HS + (size_t)h * HS;
    float x = load(dout + at + lane) * load(out + at + lane) +
              load(dout + at + lane + WARP) * load(out + at + lane + WARP);
    x = warp_sum(x);
    if (lane == 0)
        D[row] = x;
}

/* The gradient of the scores of query tile q0 against key tile k0, for
 * the calling warp's 16 rows: ds = P * (dP * mask - D), written in bf16
 * over S, and if wanted (pd) P * mask over dP, with P = exp(S * scale -
 * lse). No row sums here, so the layout is the plainest: row by row, lane
 * j takes columns j and j + 32 (fewer registers than the forward's, which
 * lets more blocks share an SM; measured faster for these kernels). */
__device__ void score_gradient(float *s, float *dp, bool pd, const float *lse, const float *D,
                               const weight_dropout *drop, int T, int q0, int k0, float scale) {
    bf16 *ds16 = (bf16 *)s, *pd16 = (bf16 *)dp;
    int w = warp_id(), lane = lane_id();
    for (int i = 0; i < 16; i++) {
        int r = 16 * w + i, t = q0 + r;
        float dsv[2], pdv[2];
#pragma unroll
        for (int j = 0; j < 2; j++) {
            int c = lane + j * WARP, u = k0 + c;
            float P = u <= t && t < T ? __expf(s[r * LDF + c] * scale - lse[r]) : 0.0f;
            float keep = weight_keep_row(drop, i, u);
            dsv[j] = P * (dp[r * LDF + c] * keep - D[r]);
            pdv[j] = P * keep;
        }
        __syncwarp(); /* every lane has read row r of S and dP */
#pragma unroll
        for (int j = 0; j < 2; j++) {
            int c = lane + j * WARP;
            ds16[r * LDP + c] = __float2bfloat16(dsv[j]);
            if (pd)
                pd16[r * LDP + c] = __float2bfloat16(pdv[j]);
        }
    }
}

/* This tile's lse and D (rows past T: 0) into shared memory. */
__device__ void load_rows(float *lse_s, float *D_s, const float *lse, const float *D, head_at a,
                          int T, int q0) {
    for (int r = threadIdx.x; r < TILE; r += FUSED_THREADS) {
        lse_s[r] = q0 + r < T ? lse[a.rows + q0 + r] : 0.0f;
        D_s[r] = q0 + r < T ? D[a.rows + q0 + r] : 0.0f;
    }
}

/* Shared memory of the kernels: bf16 operand tiles, fp32 products (with
 * bf16 results written over them) and a tile's per-row numbers. */
#define SMEM(bf16_tiles, f32_tiles)                                                            \
    ((bf16_tiles) * TILE_BF16 * sizeof(bf16) + ((f32_tiles) * TILE_F32 + 2 * TILE) * sizeof(float))
#define FORWARD_SMEM SMEM(2, 2) /* (its 2 * TILE row floats unused) */
#define BACKWARD_KV_SMEM SMEM(4, 2)
#define BACKWARD_Q_SMEM SMEM(2, 2)

/* dk, dv for key tile j: one block per (tile, head, batch row). */
template <typename E>
__global__ void __launch_bounds__(FUSED_THREADS, 3) /* 3 blocks per SM: at most 170 registers */
    fused_backward_kv_kernel(E *dqkv, const E *dout, const float *lse, const float *D,
                             const E *qkv, int T, int NH, float scale, float p, uint64_t seed) {
    extern __shared__ __align__(128) unsigned char smem[];
    bf16 *k = (bf16 *)smem, *v = k + TILE_BF16, *q = v + TILE_BF16, *dy = q + TILE_BF16;
    float *s = (float *)(dy + TILE_BF16), *dp = s + TILE_F32, *lse_s = dp + TILE_F32,
          *D_s = lse_s + TILE;
    head_at a = this_head(T, NH);
    int kt = blockIdx.x, k0 = kt * TILE, C = a.C, n_tiles = gridDim.x;
    load_tile(k, qkv + a.qkv + C, k0, T, 3 * C);
    load_tile(v, qkv + a.qkv + 2 * C, k0, T, 3 * C);
    acc_fragment dk[4], dv[4];
    zero(dk);
    zero(dv);
    for (int qt = kt; qt < n_tiles; qt++) {
        int q0 = qt * TILE;
        __syncthreads(); /* the previous query tile is used up */
        load_tile(q, qkv + a.qkv, q0, T, 3 * C);
        load_tile(dy, dout + a.flat, q0, T, C);
        load_rows(lse_s, D_s, lse, D, a, T, q0);
        weight_dropout drop = dropout_rows(a, q0, p, seed);
        __syncthreads();
        a_fragment f[4];
        load_a_strip(f, q);
        product_abt(s, f, k); /* this warp's query rows */
        load_a_strip(f, dy);
        product_abt(dp, f, v);
        __syncwarp();
        score_gradient(s, dp, true, lse_s, D_s, &drop, T, q0, k0, scale);
        __syncthreads(); /* the products below read every warp's rows of ds and pd */
        /* dv += (P * mask)^T dy, dk += dS^T q: here warp w's rows are keys */
        strip_mma<wmma::col_major, wmma::row_major>(dv, (bf16 *)dp, LDP, dy, LDH);
        strip_mma<wmma::col_major, wmma::row_major>(dk, (bf16 *)s, LDP, q, LDH);
    }
    __syncthreads();
    store_strip(s, dk);
    store_strip(dp, dv);
    __syncthreads();
    store_tile(dqkv + a.qkv + C, s, k0, T, 3 * C, scale);
    store_tile(dqkv + a.qkv + 2 * C, dp, k0, T, 3 * C, 1.0f);
}

/* dq for query tile i: one block per (tile, head, batch row). */
template <typename E>
__global__ void __launch_bounds__(FUSED_THREADS)
    fused_backward_q_kernel(E *dqkv, const E *dout, const float *lse, const float *D,
                            const E *qkv, int T, int NH, float scale, float p, uint64_t seed) {
    extern __shared__ __align__(128) unsigned char smem[];
    bf16 *k = (bf16 *)smem, *v = k + TILE_BF16;
    float *s = (float *)(v + TILE_BF16), *dp = s + TILE_F32, *lse_s = dp + TILE_F32,
          *D_s = lse_s + TILE;
    head_at a = this_head(T, NH);
    int qt = gridDim.x - 1 - blockIdx.x, q0 = qt * TILE, C = a.C;
    /* q and dy stay for the whole block: into registers, through k and v's space */
    a_fragment q[4], dy[4];
    load_tile(k, qkv + a.qkv, q0, T, 3 * C);
    load_tile(v, dout + a.flat, q0, T, C);
    load_rows(lse_s, D_s, lse, D, a, T, q0);
    __syncthreads();
    load_a_strip(q, k);
    load_a_strip(dy, v);
    weight_dropout drop = dropout_rows(a, q0, p, seed);
    acc_fragment dq[4];
    zero(dq);
    for (int kt = 0; kt <= qt; kt++) {
        int k0 = kt * TILE;
        __syncthreads(); /* the previous key tile is used up */
        load_tile(k, qkv + a.qkv + C, k0, T, 3 * C);
        load_tile(v, qkv + a.qkv + 2 * C, k0, T, 3 * C);
        __syncthreads();
        product_abt(s, q, k); /* from here on, each warp only its own query rows */
        product_abt(dp, dy, v);
        __syncwarp();
        score_gradient(s, dp, false, lse_s, D_s, &drop, T, q0, k0, scale);
        __syncwarp();
        strip_mma<wmma::row_major, wmma::row_major>(dq, (bf16 *)s, LDP, k, LDH); /* dq += dS k */
    }
    __syncthreads();
    store_strip(s, dq);
    __syncthreads();
    store_tile(dqkv + a.qkv, s, q0, T, 3 * C, scale);
}

/* -------------------------------------------------------------- launches */

extern "C" bool attention_fused_supported(int C, int NH) { return NH > 0 && C == NH * HS; }

static dim3 tiles_grid(int B, int T, int NH) {
    return dim3((unsigned)((T + TILE - 1) / TILE), (unsigned)NH, (unsigned)B);
}

/* Kernels that want more than 48 KB of shared memory must say so, once. */
static void allow_big_smem(void) {
    static bool done;
    if (done)
        return;
    const void *kernels[] = {
        (const void *)fused_forward_kernel<float>,     (const void *)fused_forward_kernel<bf16>,
        (const void *)fused_backward_kv_kernel<float>, (const void *)fused_backward_kv_kernel<bf16>,
        (const void *)fused_backward_q_kernel<float>,  (const void *)fused_backward_q_kernel<bf16>};
    for (int i = 0; i < 6; i++)
        CUDA_CHECK(cudaFuncSetAttribute(kernels[i], cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        (int)BACKWARD_KV_SMEM));
    done = true;
}

template <typename E>
static void forward(operand *out, float *lse, const operand *qkv, int B, int T, int NH, float p,
                    uint64_t seed) {
    allow_big_smem();
    fused_forward_kernel<<<tiles_grid(B, T, NH), FUSED_THREADS, FORWARD_SMEM>>>(
        (E *)out, lse, (const E *)qkv, T, NH, 1.0f / sqrtf((float)HS), p, seed);
    LAUNCH_CHECK();
}

extern "C" void attention_fused_forward_cuda(operand *out, float *lse, const operand *qkv, int B,
                                             int T, int C, int NH, float p, uint64_t seed) {
    (void)C;
    FOR_OPERANDS(forward, out, lse, qkv, B, T, NH, p, seed);
}

template <typename E>
static void backward(operand *dqkv, float *D, const operand *dout, const operand *out,
                     const float *lse, const operand *qkv, int B, int T, int NH, float p,
                     uint64_t seed) {
    int rows = B * NH * T;
    row_dot_kernel<<<blocks_for((size_t)rows, BLOCK_THREADS / WARP), BLOCK_THREADS>>>(
        D, (const E *)out, (const E *)dout, B, T, NH);
    LAUNCH_CHECK();
    float scale = 1.0f / sqrtf((float)HS);
    allow_big_smem();
    fused_backward_kv_kernel<<<tiles_grid(B, T, NH), FUSED_THREADS, BACKWARD_KV_SMEM>>>(
        (E *)dqkv, (const E *)dout, lse, D, (const E *)qkv, T, NH, scale, p, seed);
    LAUNCH_CHECK();
    fused_backward_q_kernel<<<tiles_grid(B, T, NH), FUSED_THREADS, BACKWARD_Q_SMEM>>>(
        (E *)dqkv, (const E *)dout, lse, D, (const E *)qkv, T, NH, scale, p, seed);
    LAUNCH_CHECK();
}

extern "C" void attention_fused_backward_cuda(operand *dqkv, float *D, const operand *dout,
                                              const operand *out, const float *lse,
                                              const operand *qkv, int B, int T, int C, int NH,
                                              float p, uint64_t seed) {
    (void)C;
    FOR_OPERANDS(backward, dqkv, D, dout, out, lse, qkv, B, T, NH, p, seed);
}
