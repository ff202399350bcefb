/*
 * adamw.h - the AdamW optimizer, gradient-norm clipping and the learning
 * rate schedule.
 *
 * AdamW (Loshchilov & Hutter) keeps, for every parameter, a running mean of
 * its gradient (m, "momentum") and of its squared gradient (v). The update
 * moves each parameter by lr * m / sqrt(v): a step of roughly lr in the
 * direction the gradient has been pointing, whatever the gradient's scale.
 * Weight decay shrinks the weights toward zero separately from the gradient
 * ("decoupled"), which is the W in AdamW.
 *
 * The update is torch.optim.AdamW's, computed in float: it matches
 * PyTorch's to within float rounding (a test checks two steps against
 * numbers PyTorch printed), so a loss curve here can be compared with
 * PyTorch's.
 */
#ifndef COMMON_ADAMW_H
#define COMMON_ADAMW_H

#include <stddef.h>

typedef struct {
    float beta1;        /* decay rate of the gradient mean m */
    float beta2;        /* decay rate of the squared-gradient mean v */
    float eps;          /* keeps the division finite when v is ~0 */
    float weight_decay; /* fraction of lr by which decayed weights shrink per step */
} adamw_config;

/* torch.optim.AdamW's defaults: the lecture's plain recipe (chapters 01-04). */
#define ADAMW_TORCH_DEFAULTS ((adamw_config){0.9f, 0.999f, 1e-8f, 0.01f})
/* nanoGPT's recipe (chapters 05-06): a faster-forgetting v, stronger decay. */
#define ADAMW_NANOGPT ((adamw_config){0.9f, 0.99f, 1e-8f, 0.1f})

/* One AdamW step over n parameters. step is the 1-based number of this
 * update (bias correction needs it); weight_decay is 0 for tensors that are
 * not decayed. */
void adamw_update(float *params, const float *grads, float *m, float *v, size_t n,
                  const adamw_config *c, float lr, float weight_decay, long step);

/* sqrt(sum of g^2), accumulated in double in a fixed order, so it does not
 * depend on the number of threads. */
float grad_norm(const float *g, size_t n);

/* If the gradient norm exceeds max_norm, scales g so its norm is max_norm
 * (as torch.nn.utils.clip_grad_norm_). Returns the norm before clipping. */
float grad_clip(float *g, size_t n, float max_norm);

/* Linear warmup over `warmup` steps, then cosine decay from lr to min_lr at
 * step `decay_steps`, then min_lr. With warmup 0 and min_lr == lr it is a
 * constant lr (chapters 01-04). */
typedef struct {
    float lr, min_lr;
    long warmup, decay_steps;
} lr_schedule;

float lr_at(const lr_schedule *s, long step);

#endif
