#!/usr/bin/env python3
"""Writes the interop fixture for chapter 05's tests (run once; outputs committed).

A tiny GPT of nanoGPT's architecture (pre-LN, no biases, exact GELU, tied
lm_head), written here in PyTorch independently of the C code, with random
weights. It writes
  tests/data/interop_model.safetensors   weights under nanoGPT's names, config
                                         and vocabulary in __metadata__
  tests/data/interop_logits.safetensors  the input tokens and PyTorch's logits
so the C test can load the model, run its own forward pass on the same tokens
and compare logits (to 1e-4). The safetensors files are written with json +
struct (the format is an 8-byte length, a JSON header and raw data), so only
torch is needed:  python3 tests/make_interop_fixture.py
"""
import json
import math
import os
import struct

import torch
import torch.nn.functional as F

N_LAYER, N_HEAD, N_EMBD, BLOCK, VOCAB = 2, 3, 12, 8, 7
CHARS = "\n !abc\u00e9"  # 7 characters, sorted by code point: "\n", " ", "!", "a", "b", "c", "é"
B, T = 2, 6
SEED = 20261127

def layer_norm(x, w):
    return F.layer_norm(x, (x.shape[-1],), w, None, 1e-5)

def forward(p, idx):
    C, nh = N_EMBD, N_HEAD
    x = p["transformer.wte.weight"][idx] + p["transformer.wpe.weight"][: idx.shape[1]]
    Bb, Tt, _ = x.shape
    mask = torch.tril(torch.ones(Tt, Tt, dtype=torch.bool))
    for i in range(N_LAYER):
        h = f"transformer.h.{i}."
        a = layer_norm(x, p[h + "ln_1.weight"])
        q, k, v = (a @ p[h + "attn.c_attn.weight"].T).split(C, dim=2)
        q, k, v = (t.view(Bb, Tt, nh, C // nh).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // nh)
        att = F.softmax(att.masked_fill(~mask, float("-inf")), dim=-1)
        y = (att @ v).transpose(1, 2).reshape(Bb, Tt, C)
        x = x + y @ p[h + "attn.c_proj.weight"].T
        m = layer_norm(x, p[h + "ln_2.weight"])
        x = x + F.gelu(m @ p[h + "mlp.c_fc.weight"].T) @ p[h + "mlp.c_proj.weight"].T
    x = layer_norm(x, p["transformer.ln_f.weight"])
    return x @ p["transformer.wte.weight"].T  # tied lm_head

def write_safetensors(path, tensors, metadata=None):
    header, offset, blobs = {}, 0, []
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        data = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text.encode())
        for blob in blobs:
            f.write(blob)

def main():
    torch.manual_seed(SEED)
    C = N_EMBD
    p = {"transformer.wte.weight": torch.randn(VOCAB, C) * 0.5,
         "transformer.wpe.weight": torch.randn(BLOCK, C) * 0.5}
    for i in range(N_LAYER):
        h = f"transformer.h.{i}."
        p[h + "ln_1.weight"] = 1 + 0.3 * torch.randn(C)
        p[h + "attn.c_attn.weight"] = torch.randn(3 * C, C) * 0.4
        p[h + "attn.c_proj.weight"] = torch.randn(C, C) * 0.3
        p[h + "ln_2.weight"] = 1 + 0.3 * torch.randn(C)
        p[h + "mlp.c_fc.weight"] = torch.randn(4 * C, C) * 0.4
        p[h + "mlp.c_proj.weight"] = torch.randn(C, 4 * C) * 0.2
    p["transformer.ln_f.weight"] = 1 + 0.3 * torch.randn(C)
    idx = torch.randint(0, VOCAB, (B, T))
    with torch.no_grad():
        logits = forward(p, idx)
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
    meta = {"n_layer": str(N_LAYER), "n_head": str(N_HEAD), "n_embd": str(N_EMBD),
            "block_size": str(BLOCK), "vocab_size": str(VOCAB), "vocab": CHARS,
            "step": "0"}
    write_safetensors(os.path.join(here, "interop_model.safetensors"), p, meta)
    write_safetensors(os.path.join(here, "interop_logits.safetensors"),
                      {"tokens": idx.to(torch.float32), "logits": logits},
                      {"torch_version": torch.__version__})
    print("wrote interop_model.safetensors and interop_logits.safetensors;",
          "logits[0,0,:3] =", logits[0, 0, :3].tolist())

if __name__ == "__main__":
    main()
