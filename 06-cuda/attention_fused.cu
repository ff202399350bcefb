/*
 * attention_fused.cu - causal multi-head attention in kernels that never
 * write the T x T matrices to memory (the same math as attention.cu and
 * chapter 03's multihead_* functions; the bf16 mode's attention).
 *
 * attention.cu writes the scores, the softmax and its dropped copy for
 * every (batch row, head) pair: at batch 64, 6 heads and T 256 that is
 * three 100 MB tensors per layer, written and read again in the backward
 * pass. Yet each row of those matrices is made from one query and a tile
 * of keys, and used at once. So here a thread block takes one (batch row,
 * head, tile of 64 positions), keeps its tiles of q, k, v on chip, makes
 * each 64 x 64 block of scores, uses it, and moves on: the idea of
 * FlashAttention (Dao et al., 2022), written plainly.
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
 * The products run on the tensor cores, one warp-wide instruction at a
 * time: mma.sync.m16n8k16 multiplies a 16 x 16 bf16 tile A by a 16 x 8
 * bf16 tile B and adds the 16 x 8 fp32 result to an accumulator, each
 * matrix spread over the warp's registers in a layout the PTX manual fixes
 * (below). A block is 4 warps and warp w owns 16 rows of every product, so
 * a warp's scores, their softmax, the weights made from them and the next
 * product's operand never leave its registers: the accumulator layout of
 * one product is, converted to bf16, the operand layout of the next. Only
 * the tiles that every warp reads (k and v in the forward pass) go through
 * shared memory, and ldmatrix loads them into operand registers, 8 x 8
 * pieces at a time (transposed on the way when a product needs it).
 * Operands are bf16; everything else (softmax, sums, accumulators) is fp32.
 * The head size is fixed at 64 (the GPT's 384 / 6); attention.cu handles
 * other shapes.
 *
 * Dropout draws the same mask as attention.cu (row_key and
 * weight_dropout_scale on the same row and column), so the two paths
 * compute the same function; the Check suite compares them.
 */
#include <math.h>

#include "cuda_internal.cuh"
#include "cuda_layers.h"

#define HS 64             /* head size */
#define TILE 64           /* positions per tile (= HS: all tiles are 64 x 64) */
#define FUSED_THREADS 128 /* 4 warps, 16 rows each */
/* Row stride of a bf16 tile in shared memory: 72 elements, 144 bytes, so
 * the 8 rows that one ldmatrix phase reads start in 8 different groups of
 * 4 banks (no bank conflicts), and every row stays 16-byte aligned. */
#define LDH (HS + 8)
#define TILE_ELEMENTS (TILE * LDH)

__device__ inline int warp_id(void) { return threadIdx.x / WARP; }
__device__ inline int lane_id(void) { return threadIdx.x % WARP; }

/* ------------------------------------------------- the tensor-core step */

/* mma.sync.m16n8k16: c (16 x 8, fp32) += a (16 x 16, bf16) b (16 x 8,
 * bf16). Lane 4 g + t (g = 0..7, t = 0..3) holds, as the PTX manual lays
 * them out:
 *   a: 4 registers of 2 bf16: (row g, columns 2t, 2t+1), (g + 8, 2t..),
 *      (g, 2t + 8..), (g + 8, 2t + 8..)
 *   b: 2 registers: (rows 2t, 2t+1, column g), (rows 2t + 8, 2t + 9, g)
 *   c: 4 floats: (g, 2t), (g, 2t + 1), (g + 8, 2t), (g + 8, 2t + 1)
 * Two c tiles side by side (columns 0-7 and 8-15) hold rows g and g + 8 at
 * the columns a holds them: a 16 x 16 accumulator is an A operand after
 * rounding to bf16 (a_from_acc). */
__device__ inline void mma(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                 "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ inline uint32_t pack_bf16(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi); /* lo in the low half */
    return *(uint32_t *)&v;
}

/* The 16 x 16 matrix in accumulators lo (columns 0-7) and hi (8-15) as an
 * A operand. */
__device__ inline void a_from_acc(uint32_t a[4], const float lo[4], const float hi[4]) {
    a[0] = pack_bf16(lo[0], lo[1]);
    a[1] = pack_bf16(lo[2], lo[3]);
    a[2] = pack_bf16(hi[0], hi[1]);
    a[3] = pack_bf16(hi[2], hi[3]);
}

/* ldmatrix: four 8 x 8 bf16 matrices from shared memory into registers,
 * one register per matrix; lane l passes the address of row l % 8 of
 * matrix l / 8. Lane 4 g + t receives (row g, columns 2t, 2t+1) of each
 * matrix - or, with .trans, (rows 2t, 2t+1, column g): the transpose.
 * The two forms differ only in the instruction's name, so one macro
 * writes both. */
#define LDMATRIX_X4(name, qualifier)                                                          \
    __device__ inline void name(uint32_t r[4], const bf16 *row) {                             \
        unsigned addr = (unsigned)__cvta_generic_to_shared(row);                              \
        asm volatile("ldmatrix.sync.aligned.m8n8.x4" qualifier ".shared.b16 "                 \
                     "{%0, %1, %2, %3}, [%4];\n"                                              \
                     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])                         \
                     : "r"(addr)                                                              \
                     : "memory");                                                             \
    }
LDMATRIX_X4(ldmatrix, "")
LDMATRIX_X4(ldmatrix_trans, ".trans")

/* The operands of the products, from a row-major bf16 tile in shared
 * memory. Which 8 x 8 matrix each lane points at is chosen so that the
 * four registers come out in the order mma() takes them. */

/* A = rows r0..r0+15, columns c0..c0+15 of the tile. */
__device__ inline void load_a(uint32_t a[4], const bf16 *tile, int r0, int c0) {
    int l = lane_id();
    ldmatrix(a, tile + (r0 + l % 16) * LDH + c0 + 8 * (l / 16));
}

/* B for k = k0..k0+15 and two blocks of 8 columns n0.., n0+8.. (b[0..1],
 * b[2..3]), where the tile holds B transposed: row n of the tile is column
 * n of B. (k in q k^T: the product wants k^T, memory has k.) */
__device__ inline void load_b_transposed(uint32_t b[4], const bf16 *tile, int n0, int k0) {
    int l = lane_id();
    ldmatrix(b, tile + (n0 + 8 * (l / 16) + l % 8) * LDH + k0 + 8 * (l / 8 % 2));
}

/* The same where the tile holds B as it is, row k of the tile is row k of
 * B (v in P v): ldmatrix transposes on the way. */
__device__ inline void load_b(uint32_t b[4], const bf16 *tile, int k0, int n0) {
    int l = lane_id();
    ldmatrix_trans(b, tile + (k0 + l % 16) * LDH + n0 + 8 * (l / 16));
}

/* acc (16 x 64: 8 blocks of 8 columns) += a (16 x 64, as 4 A operands of
 * 16 columns) b^T, b a 64 x 64 tile (rows n0..n0+15 only when `n_blocks`
 * is 2). */
__device__ inline void product_abt(float acc[][4], const uint32_t a[4][4], const bf16 *b,
                                   int n0, int n_blocks) {
#pragma unroll
    for (int k = 0; k < 4; k++)
#pragma unroll
        for (int n = 0; n < n_blocks; n += 2) {
            uint32_t f[4];
            load_b_transposed(f, b, n0 + 8 * n, 16 * k);
            mma(acc[n], a[k], f[0], f[1]);
            mma(acc[n + 1], a[k], f[2], f[3]);
        }
}

/* acc (16 x 64) += a (16 x 16) times rows k0..k0+15 of the 64 x 64 tile b. */
__device__ inline void product_ab(float acc[8][4], const uint32_t a[4], const bf16 *b, int k0) {
#pragma unroll
    for (int n = 0; n < 8; n += 2) {
        uint32_t f[4];
        load_b(f, b, k0, 8 * n);
        mma(acc[n], a, f[0], f[1]);
        mma(acc[n + 1], a, f[2], f[3]);
    }
}

/* -------------------------------------------------------------- tiles */

/* 8 consecutive elements as 8 bf16 (one 16-byte value). */
__device__ inline uint4 load8(const bf16 *p) { return *(const uint4 *)p; }
__device__ inline uint4 load8(const float *p) {
    float4 x = load4(p), y = load4(p + 4);
    return make_uint4(pack_bf16(x.x, x.y), pack_bf16(x.z, x.w), pack_bf16(y.x, y.y),
                      pack_bf16(y.z, y.w));
}

/* A tile to load: rows t0..t0+63 of one head's 64 columns of an operand,
 * into dst (a bf16 tile in shared memory); `src` is the head's first
 * column in row 0, rows are `width` elements apart. */
template <typename E> struct tile_load {
    bf16 *dst;
    const E *src;
    int width;
};

/* Where a thread's 16 bytes of a tile are at step j of a load: row and
 * first column. */
#define LOAD_STEPS (TILE * HS / 8 / FUSED_THREADS)
__device__ inline int step_row(int j) { return (threadIdx.x + j * FUSED_THREADS) / (HS / 8); }
__device__ inline int step_col(int j) { return 8 * ((threadIdx.x + j * FUSED_THREADS) % (HS / 8)); }

/* Load N tiles at once, rows at or past T as zeros. Each thread moves 16
 * bytes per step, and issues all its loads before its first store to
 * shared memory: the loads wait for memory together, once, instead of one
 * after the other (a load cannot be moved past a store the compiler cannot
 * prove to be elsewhere, so the order is written out). */
template <typename E, int N>
__device__ void load_tiles(const tile_load<E> (&tiles)[N], int t0, int T) {
    uint4 x[N][LOAD_STEPS];
#pragma unroll
    for (int n = 0; n < N; n++)
#pragma unroll
        for (int j = 0; j < LOAD_STEPS; j++) {
            int r = t0 + step_row(j);
            x[n][j] = r < T ? load8(tiles[n].src + (size_t)r * tiles[n].width + step_col(j))
                            : make_uint4(0, 0, 0, 0);
        }
#pragma unroll
    for (int n = 0; n < N; n++)
#pragma unroll
        for (int j = 0; j < LOAD_STEPS; j++)
            *(uint4 *)(tiles[n].dst + step_row(j) * LDH + step_col(j)) = x[n][j];
}

__device__ inline void store2(float *p, float x, float y) { *(float2 *)p = make_float2(x, y); }
__device__ inline void store2(bf16 *p, float x, float y) {
    *(__nv_bfloat162 *)p = __floats2bfloat162_rn(x, y);
}

/* A warp's 16 x 64 accumulator, times `scale`, out to the rows t0 + g and
 * t0 + g + 8 (those < T) of one head's columns of a (B,T,width) operand. */
template <typename E>
__device__ void store_rows(E *dst, const float acc[8][4], int t0, int T, int width,
                           float scale) {
    int g = lane_id() / 4, t = lane_id() % 4;
#pragma unroll
    for (int h = 0; h < 2; h++) {
        int row = t0 + g + 8 * h;
        if (row >= T)
            continue;
#pragma unroll
        for (int n = 0; n < 8; n++)
            store2(dst + (size_t)row * width + 8 * n + 2 * t, acc[n][2 * h] * scale,
                   acc[n][2 * h + 1] * scale);
    }
}

/* Where a block works: (batch row b, head h), the first element of that
 * head in row 0 of qkv (B,T,3C) and of a (B,T,C) tensor, and its first row
 * of (B,NH,T) per-row arrays (lse, D) and of attention weights. */
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

/* In an accumulator c[n][i] of a 16-row strip, element i of column block
 * n sits in row g + 8 (i / 2) and column 8 n + 2 t + i % 2. */
__device__ inline int acc_row(int i) { return lane_id() / 4 + 8 * (i / 2); }
__device__ inline int acc_col(int n, int i) { return 8 * n + 2 * (lane_id() % 4) + i % 2; }

/* A row's max or sum: its 16 values sit in the 4 lanes of a quad. */
__device__ inline float row_max(float x) {
    x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
    return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}

__device__ inline float row_sum(float x) {
    x += __shfl_xor_sync(0xffffffffu, x, 1);
    return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

/* Dropout of attention weights: row_key once per row, then one cheap hash
 * per weight. */
typedef struct {
    uint32_t threshold;
    float scale; /* 1 / (1 - p) */
    bool on;
} weight_dropout;

__device__ inline weight_dropout weight_dropout_of(float p) {
    weight_dropout d;
    d.on = p > 0.0f;
    d.threshold = keep_threshold(p);
    d.scale = 1.0f / (1.0f - p);
    return d;
}

/* The multiplier of weight (row with key `key`, key position u). */
__device__ inline float weight_keep(const weight_dropout *d, uint32_t key, int u) {
    return d->on ? weight_dropout_scale(key, (uint32_t)u, d->threshold, d->scale) : 1.0f;
}

/* -------------------------------------------------------------- forward */

/* One key tile's step of the online softmax for a warp's 16 rows: s (the
 * 16 x 64 scores) becomes the dropped weights exp(S - m_new) * mask, and
 * o, l are rescaled to the new running max. rows[h]: position of the
 * lane's row g + 8h; k0: the tile's first key. */
__device__ inline void online_softmax(float s[8][4], float o[8][4], float m[2], float l[2],
                                      const int rows[2], const uint32_t keys[2],
                                      const weight_dropout *drop, int k0, int T, float scale) {
#pragma unroll
    for (int h = 0; h < 2; h++) {
        int t = rows[h];
        float tile_max = -INFINITY;
#pragma unroll
        for (int n = 0; n < 8; n++)
#pragma unroll
            for (int i = 2 * h; i < 2 * h + 2; i++) {
                int u = k0 + acc_col(n, i);
                s[n][i] = u <= t && t < T ? s[n][i] * scale : -INFINITY;
                tile_max = fmaxf(tile_max, s[n][i]);
            }
        float m_new = fmaxf(m[h], row_max(tile_max));
        float base = m_new == -INFINITY ? 0.0f : m_new; /* rows past T see no key */
        float rescale = __expf(m[h] - base), sum = 0.0f;
#pragma unroll
        for (int n = 0; n < 8; n++)
#pragma unroll
            for (int i = 2 * h; i < 2 * h + 2; i++) {
                float e = __expf(s[n][i] - base);
                sum += e;
                s[n][i] = e * weight_keep(drop, keys[h], k0 + acc_col(n, i));
                o[n][i] *= rescale;
            }
        l[h] = l[h] * rescale + row_sum(sum);
        m[h] = m_new;
    }
}

/* How many blocks an SM runs at once is what hides one block's waits
 * behind another's work; registers decide it here: 4 blocks of 128
 * threads fit in 65536 registers at 128 a thread, which __launch_bounds__
 * asks the compiler to keep to (the bf16 instances fit without spilling). */
#define FUSED_BLOCKS_PER_SM 4

template <typename E>
__global__ void __launch_bounds__(FUSED_THREADS, FUSED_BLOCKS_PER_SM)
    fused_forward_kernel(E *out, float *lse, const E *qkv, int T, int NH, float scale,
                         float p, uint64_t seed) {
    __shared__ __align__(128) bf16 k[TILE_ELEMENTS], v[TILE_ELEMENTS];
    head_at a = this_head(T, NH);
    int qt = gridDim.x - 1 - blockIdx.x; /* the longest rows (most key tiles) start first */
    int q0 = qt * TILE, C = a.C, w = warp_id();
    /* this warp's 16 query rows, as A operands for the whole block's life;
     * they pass through k's space on the way to registers */
    uint32_t q[4][4];
    load_tiles<E, 1>({{k, qkv + a.qkv, 3 * C}}, q0, T);
    __syncthreads();
    for (int kk = 0; kk < 4; kk++)
        load_a(q[kk], k, 16 * w, 16 * kk);
    weight_dropout drop = weight_dropout_of(p);
    int rows[2];
    uint32_t keys[2];
    float m[2], l[2], o[8][4] = {};
    for (int h = 0; h < 2; h++) {
        rows[h] = q0 + 16 * w + acc_row(2 * h);
        keys[h] = drop.on ? row_key(seed, a.rows + rows[h]) : 0;
        m[h] = -INFINITY, l[h] = 0.0f;
    }
    for (int kt = 0; kt <= qt; kt++) {
        int k0 = kt * TILE;
        __syncthreads(); /* every warp is done with the previous k and v (and q's staging) */
        load_tiles<E, 2>({{k, qkv + a.qkv + C, 3 * C}, {v, qkv + a.qkv + 2 * C, 3 * C}}, k0, T);
        __syncthreads();
        float s[8][4] = {};
        product_abt(s, q, k, 0, 8); /* S = q k^T, this warp's rows */
        online_softmax(s, o, m, l, rows, keys, &drop, k0, T, scale);
#pragma unroll
        for (int kk = 0; kk < 4; kk++) { /* o += weights v, 16 keys at a time */
            uint32_t weights[4];
            a_from_acc(weights, s[2 * kk], s[2 * kk + 1]);
            product_ab(o, weights, v, 16 * kk);
        }
    }
    for (int h = 0; h < 2; h++) { /* y = o / l, row by row */
        float inv = l[h] > 0.0f ? 1.0f / l[h] : 0.0f;
        for (int n = 0; n < 8; n++)
            for (int i = 2 * h; i < 2 * h + 2; i++)
                o[n][i] *= inv;
        if (lane_id() % 4 == 0 && rows[h] < T)
            lse[a.rows + rows[h]] = m[h] + logf(l[h]);
    }
    store_rows(out + a.flat, o, q0 + 16 * w, T, C, 1.0f);
}

/* -------------------------------------------------------------- backward */

/* D[bh, t] = sum over the head's columns of dy * y: the softmax backward's
 * row term sum_u P_tu dP_tu, which equals dy . y. 8 lanes per row, 8
 * columns each. */
#define ROW_DOT_LANES (HS / 8)
template <typename E>
__global__ void row_dot_kernel(float *D, const E *out, const E *dout, int B, int T, int NH) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    size_t row = i / ROW_DOT_LANES;
    int c = 8 * (int)(i % ROW_DOT_LANES);
    bool in = row < (size_t)B * NH * T; /* (lanes past the end stay for the shuffles) */
    float x = 0.0f;
    if (in) {
        int t = (int)(row % T), h = (int)(row / T % NH), b = (int)(row / T / NH);
        size_t at = ((size_t)b * T + t) * NH * HS + (size_t)h * HS + c;
        for (int j = 0; j < 8; j += 4) {
            float4 d = load4(dout + at + j), y = load4(out + at + j);
            x += d.x * y.x + d.y * y.y + d.z * y.z + d.w * y.w;
        }
    }
    for (int offset = ROW_DOT_LANES / 2; offset > 0; offset /= 2)
        x += __shfl_xor_sync(0xffffffffu, x, offset, ROW_DOT_LANES);
    if (in && c == 0)
        D[row] = x;
}

/* The gradient of one score (query t, key u) and its dropped weight:
 * P = exp(S * scale - lse), ds = P * (dP * mask - D), pd = P * mask. */
__device__ inline float score_gradient(float s, float dp, int t, int u, int T, float lse, float D,
                                       uint32_t key, const weight_dropout *drop, float scale,
                                       float *pd) {
    float P = u <= t && t < T ? __expf(s * scale - lse) : 0.0f;
    float keep = weight_keep(drop, key, u);
    *pd = P * keep;
    return P * (dp * keep - D);
}

/* dk, dv for key tile j: one block per (tile, head, batch row); warp w owns
 * keys 16w..16w+15 of the tile, so here the products are transposed: the
 * warp makes S^T = k q^T and dP^T = v dy^T, 16 queries at a time, and
 * their A operands (k and v) stay in registers. (That takes 165 registers
 * a thread in bf16, 3 blocks per SM: asked to fit 4, the compiler spills.) */
template <typename E>
__global__ void __launch_bounds__(FUSED_THREADS)
    fused_backward_kv_kernel(E *dqkv, const E *dout, const float *lse, const float *D,
                             const E *qkv, int T, int NH, float scale, float p, uint64_t seed) {
    __shared__ __align__(128) bf16 q[TILE_ELEMENTS], dy[TILE_ELEMENTS];
    __shared__ float lse_s[TILE], D_s[TILE];
    __shared__ uint32_t key_s[TILE];
    head_at a = this_head(T, NH);
    int kt = blockIdx.x, k0 = kt * TILE, C = a.C, n_tiles = gridDim.x, w = warp_id();
    int key0 = k0 + 16 * w; /* this warp's first key */
    uint32_t kf[4][4], vf[4][4]; /* k and v pass through q and dy's space */
    load_tiles<E, 2>({{q, qkv + a.qkv + C, 3 * C}, {dy, qkv + a.qkv + 2 * C, 3 * C}}, k0, T);
    __syncthreads();
    for (int kk = 0; kk < 4; kk++) {
        load_a(kf[kk], q, 16 * w, 16 * kk);
        load_a(vf[kk], dy, 16 * w, 16 * kk);
    }
    weight_dropout drop = weight_dropout_of(p);
    float dk[8][4] = {}, dv[8][4] = {};
    for (int qt = kt; qt < n_tiles; qt++) {
        int q0 = qt * TILE;
        __syncthreads(); /* the previous query tile is used up */
        load_tiles<E, 2>({{q, qkv + a.qkv, 3 * C}, {dy, dout + a.flat, C}}, q0, T);
        for (int r = threadIdx.x; r < TILE; r += FUSED_THREADS) {
            bool in = q0 + r < T;
            lse_s[r] = in ? lse[a.rows + q0 + r] : 0.0f;
            D_s[r] = in ? D[a.rows + q0 + r] : 0.0f;
            key_s[r] = drop.on ? row_key(seed, a.rows + q0 + r) : 0;
        }
        __syncthreads();
        for (int c0 = 0; c0 < TILE; c0 += 16) { /* queries q0 + c0 .. q0 + c0 + 15 */
            if (q0 + c0 + 15 < key0)
                continue; /* all before this warp's keys: masked */
            float st[2][4] = {}, dpt[2][4] = {};
            product_abt(st, kf, q, c0, 2);  /* S^T = k q^T */
            product_abt(dpt, vf, dy, c0, 2); /* dP^T = v dy^T */
#pragma unroll
            for (int n = 0; n < 2; n++)
#pragma unroll
                for (int i = 0; i < 4; i++) { /* row: key u; column: query t */
                    int r = c0 + acc_col(n, i), u = key0 + acc_row(i);
                    float pd;
                    dpt[n][i] = score_gradient(st[n][i], dpt[n][i], q0 + r, u, T, lse_s[r],
                                               D_s[r], key_s[r], &drop, scale, &pd);
                    st[n][i] = pd;
                }
            uint32_t pdt[4], dst[4];
            a_from_acc(pdt, st[0], st[1]);
            a_from_acc(dst, dpt[0], dpt[1]);
            product_ab(dv, pdt, dy, c0); /* dv += (P * mask)^T dy */
            product_ab(dk, dst, q, c0);  /* dk += dS^T q */
        }
    }
    store_rows(dqkv + a.qkv + C, dk, key0, T, 3 * C, scale);
    store_rows(dqkv + a.qkv + 2 * C, dv, key0, T, 3 * C, 1.0f);
}

/* dq for query tile i: one block per (tile, head, batch row); warp w owns
 * queries 16w..16w+15, and its q and dy stay in registers. */
template <typename E>
__global__ void __launch_bounds__(FUSED_THREADS, FUSED_BLOCKS_PER_SM)
    fused_backward_q_kernel(E *dqkv, const E *dout, const float *lse, const float *D,
                            const E *qkv, int T, int NH, float scale, float p, uint64_t seed) {
    __shared__ __align__(128) bf16 k[TILE_ELEMENTS], v[TILE_ELEMENTS];
    head_at a = this_head(T, NH);
    int qt = gridDim.x - 1 - blockIdx.x, q0 = qt * TILE, C = a.C, w = warp_id();
    int query0 = q0 + 16 * w; /* this warp's first query */
    uint32_t qf[4][4], dyf[4][4]; /* through k and v's space */
    load_tiles<E, 2>({{k, qkv + a.qkv, 3 * C}, {v, dout + a.flat, C}}, q0, T);
    __syncthreads();
    for (int kk = 0; kk < 4; kk++) {
        load_a(qf[kk], k, 16 * w, 16 * kk);
        load_a(dyf[kk], v, 16 * w, 16 * kk);
    }
    weight_dropout drop = weight_dropout_of(p);
    int rows[2];
    float lse_r[2], D_r[2];
    uint32_t keys[2];
    for (int h = 0; h < 2; h++) {
        rows[h] = query0 + acc_row(2 * h);
        bool in = rows[h] < T;
        lse_r[h] = in ? lse[a.rows + rows[h]] : 0.0f;
        D_r[h] = in ? D[a.rows + rows[h]] : 0.0f;
        keys[h] = drop.on ? row_key(seed, a.rows + rows[h]) : 0;
    }
    float dq[8][4] = {};
    for (int kt = 0; kt <= qt; kt++) {
        int k0 = kt * TILE;
        __syncthreads(); /* the previous key tile is used up (and q, dy's staging) */
        load_tiles<E, 2>({{k, qkv + a.qkv + C, 3 * C}, {v, qkv + a.qkv + 2 * C, 3 * C}}, k0, T);
        __syncthreads();
        for (int c0 = 0; c0 < TILE; c0 += 16) { /* keys k0 + c0 .. k0 + c0 + 15 */
            if (k0 + c0 > query0 + 15)
                break; /* all after this warp's queries: masked */
            float s[2][4] = {}, dp[2][4] = {};
            product_abt(s, qf, k, c0, 2);   /* S = q k^T */
            product_abt(dp, dyf, v, c0, 2); /* dP = dy v^T */
#pragma unroll
            for (int n = 0; n < 2; n++)
#pragma unroll
                for (int i = 0; i < 4; i++) {
                    int h = i / 2, u = k0 + c0 + acc_col(n, i);
                    float pd;
                    s[n][i] = score_gradient(s[n][i], dp[n][i], rows[h], u, T, lse_r[h], D_r[h],
                                             keys[h], &drop, scale, &pd);
                }
            uint32_t ds[4];
            a_from_acc(ds, s[0], s[1]);
            product_ab(dq, ds, k, c0); /* dq += dS k */
        }
    }
    store_rows(dqkv + a.qkv, dq, query0, T, 3 * C, scale);
}

/* -------------------------------------------------------------- launches */

extern "C" bool attention_fused_supported(int C, int NH) { return NH > 0 && C == NH * HS; }

static dim3 tiles_grid(int B, int T, int NH) {
    return dim3((unsigned)((T + TILE - 1) / TILE), (unsigned)NH, (unsigned)B);
}

template <typename E>
static void forward(operand *out, float *lse, const operand *qkv, int B, int T, int NH, float p,
                    uint64_t seed) {
    fused_forward_kernel<<<tiles_grid(B, T, NH), FUSED_THREADS>>>(
        (E *)out, lse, (const E *)qkv, T, NH, 1.0f / sqrtf((float)HS), p, seed);
    LAUNCH_CHECK();
}

extern "C" void attention_fused_forward_cuda(operand *out, float *lse, const operand *qkv, int B,
                                             int T, int C, int NH, float p, uint64_t seed) {
    REQUIRE(attention_fused_supported(C, NH));
    REQUIRE(aligned_to(16, out, qkv)); /* the 16-byte tile loads and stores */
    FOR_OPERANDS(forward, out, lse, qkv, B, T, NH, p, seed);
}

template <typename E>
static void backward(operand *dqkv, float *D, const operand *dout, const operand *out,
                     const float *lse, const operand *qkv, int B, int T, int NH, float p,
                     uint64_t seed) {
    size_t lanes = (size_t)B * NH * T * ROW_DOT_LANES;
    row_dot_kernel<<<blocks_for(lanes, BLOCK_THREADS), BLOCK_THREADS>>>(
        D, (const E *)out, (const E *)dout, B, T, NH);
    LAUNCH_CHECK();
    float scale = 1.0f / sqrtf((float)HS);
    fused_backward_kv_kernel<<<tiles_grid(B, T, NH), FUSED_THREADS>>>(
        (E *)dqkv, (const E *)dout, lse, D, (const E *)qkv, T, NH, scale, p, seed);
    LAUNCH_CHECK();
    fused_backward_q_kernel<<<tiles_grid(B, T, NH), FUSED_THREADS>>>(
        (E *)dqkv, (const E *)dout, lse, D, (const E *)qkv, T, NH, scale, p, seed);
    LAUNCH_CHECK();
}

extern "C" void attention_fused_backward_cuda(operand *dqkv, float *D, const operand *dout,
                                              const operand *out, const float *lse,
                                              const operand *qkv, int B, int T, int C, int NH,
                                              float p, uint64_t seed) {
    REQUIRE(attention_fused_supported(C, NH));
    REQUIRE(aligned_to(16, dqkv, dout, out, qkv));
    FOR_OPERANDS(backward, dqkv, D, dout, out, lse, qkv, B, T, NH, p, seed);
}
