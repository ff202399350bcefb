#!/usr/bin/env python3
"""Writes tests/data/checkpoints/: a small GPT checkpoint made by the
project's own program, and hand-made bad variants of it (run once; the
files are committed).

    make 05-gpt/gpt && python3 tests/make_bad_checkpoints.py

A tiny model (1 layer, 2 heads, 4-dimensional, block 4, a 5-character
vocabulary) keeps each file near 2 kB, most of it the JSON header, which is
where a loader goes wrong and where the fuzzers should spend their edits.
The program trains it for 2 steps on train.txt and writes good-best and
good-last; every other file is one of them with one thing broken. `index`
says, for each file, which commands (gpt sample, gpt eval, gpt train
--resume) must fail with which error (an extended regex), or OK:
tests/reliability_checkpoints.sh feeds every file to the real program and
checks that; tests/test_fuzz.c and `make fuzz` use the files as seeds.

Only the standard library is needed: a safetensors file is an 8-byte
little-endian header length, a JSON header and the raw tensor bytes.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "checkpoints")
GPT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "05-gpt", "gpt")
# 5 characters, one of them 2 bytes in UTF-8: "\n", " ", "a", "b", "é"
TEXT = "ab \u00e9a\nba \u00e9\n" * 30
MODEL = ["--n-layer", "1", "--n-head", "2", "--n-embd", "4", "--block", "4", "--batch", "2",
         "--iters", "2", "--eval-interval", "1", "--eval-iters", "1", "--warmup", "0",
         "--seed", "1", "--threads", "1"]
ALL = "sample,eval,resume"


# ---------------------------------------------------------------- the format

def split(blob):
    """(header dict, data bytes) of a safetensors file, keys in file order."""
    n = struct.unpack("<Q", blob[:8])[0]
    return json.loads(blob[8:8 + n]), blob[8 + n:]


def header_text(header):
    return json.dumps(header, separators=(",", ":"), ensure_ascii=False)


def pack(text, data, length=None):
    """A file from a header text (padded to 8 bytes, as writers do)."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


def edited(blob, edit):
    """The file with edit(header) applied to a copy of its header."""
    header, data = split(blob)
    header = json.loads(json.dumps(header))
    data = edit(header, data) or data
    return pack(header_text(header), data)


def with_meta(**changes):
    def edit(header, _data):
        header["__metadata__"].update(changes)
    return edit


def without(*path):
    """Deletes header[path[0]][path[1]]...: a tensor field, a metadata key,
    the whole metadata."""
    def edit(header, _data):
        obj = header
        for key in path[:-1]:
            obj = obj[key]
        del obj[path[-1]]
    return edit


def with_tensor(name, **changes):
    def edit(header, _data):
        header[name].update(changes)
    return edit


def text_edit(blob, old, new):
    """The file with one piece of its header replaced (text, or bytes for
    what is not even UTF-8), the header length adjusted: for what a JSON
    library will not write."""
    header, data = split(blob)
    raw = header_text(header).encode("utf-8")
    old, new = (x.encode("utf-8") if isinstance(x, str) else x for x in (old, new))
    assert old in raw, old
    return pack(raw.replace(old, new, 1), data)


def drop_tensor(name):
    """Removes a tensor and its bytes, closing the gap it leaves."""
    def edit(header, data):
        begin, end = header.pop(name)["data_offsets"]
        for info in header.values():
            if "data_offsets" in info and info["data_offsets"][0] >= end:
                info["data_offsets"] = [o - (end - begin) for o in info["data_offsets"]]
        return data[:begin] + data[end:]
    return edit


def add_tensor(name, shape):
    def edit(header, data):
        size = 4 * shape[0] * shape[1]
        header[name] = {"dtype": "F32", "shape": shape,
                        "data_offsets": [len(data), len(data) + size]}
        return data + bytes(size)
    return edit


def gap_after(name, size):
    """Shifts every tensor after `name` by size bytes, leaving a hole."""
    def edit(header, data):
        end = header[name]["data_offsets"][1]
        for info in header.values():
            if "data_offsets" in info and info["data_offsets"][0] >= end:
                info["data_offsets"] = [o + size for o in info["data_offsets"]]
        return data[:end] + bytes(size) + data[end:]
    return edit


def nan_in(name):
    def edit(header, data):
        at = header[name]["data_offsets"][0]
        return data[:at] + struct.pack("<f", float("nan")) + data[at + 4:]
    return edit


def set_header_length(blob, length):
    return struct.pack("<Q", length) + blob[8:]


# ---------------------------------------------------------------- the cases

def cases(best, last):
    """(file, bytes, [(commands, pattern or OK)], what) for every file."""
    hlen = struct.unpack("<Q", best[:8])[0]
    wte = "transformer.wte.weight"
    wpe = "transformer.wpe.weight"
    ln_f = "transformer.ln_f.weight"
    c_proj = "transformer.h.0.attn.c_proj.weight"
    c_attn = "transformer.h.0.attn.c_attn.weight"
    mismatch = "does not match its tensors: "
    return [
        # ---- valid files
        ("good-best.safetensors", best,
         [("sample,eval", "OK"),
          ("resume", "\\(not a last.safetensors\\?\\): its metadata lacks 'train.batch'$")],
         "what `gpt train` writes as best.safetensors: weights, config, vocabulary"),
        ("good-last.safetensors", last, [(ALL, "OK")],
         "last.safetensors: also AdamW's moments, the step, the random streams, the options"),
        ("nan-weights.safetensors", edited(last, nan_in(wte)), [("sample", "OK")],
         "a NaN in wte: well-formed, so it loads and sampling survives it; training from it "
         "must stop at once (tested on its own: the files must stay as they were)"),
        # ---- not a safetensors file at all
        ("empty.safetensors", b"", [(ALL, "not a safetensors file: only 0 bytes$")],
         "an empty file"),
        ("four-bytes.safetensors", b"GPT\n", [(ALL, "not a safetensors file: only 4 bytes$")],
         "shorter than the 8-byte header length"),
        ("text.safetensors", TEXT.encode("utf-8"),
         [(ALL, "not a safetensors file \\(or truncated\\): header length [0-9]+ but only "
                "[0-9]+ bytes follow$")],
         "the training text itself: its first 8 bytes read as a gigantic header length"),
        ("png.safetensors",
         b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x03\x84\x00\x00\x02\x30\x08\x06" + bytes(40),
         [(ALL, "not a safetensors file \\(or truncated\\): header length")],
         "a PNG image (the loss plot, given by mistake)"),
        ("pytorch-zip.safetensors", b"PK\x03\x04\x00\x00\x08\x08\x00\x00" + bytes(54),
         [(ALL, "not a safetensors file \\(or truncated\\): header length")],
         "the start of a zip archive, which is what torch.save writes (a .pt file)"),
        ("zeros.safetensors", bytes(64),
         [(ALL, "malformed JSON header: it is not an object$")],
         "64 zero bytes: a header length of 0, so an empty header"),
        # ---- truncated
        ("truncated-in-length.safetensors", best[:5],
         [(ALL, "not a safetensors file: only 5 bytes$")], "cut inside the header length"),
        ("truncated-in-header.safetensors", best[:8 + hlen // 2],
         [(ALL, "header length %d but only %d bytes follow$" % (hlen, hlen // 2))],
         "cut in the middle of the JSON header"),
        ("truncated-in-data.safetensors", best[:-100],
         [(ALL, "data offsets \\[[0-9]+, [0-9]+\\] lie outside the [0-9]+ data bytes$")],
         "cut 100 bytes before the end, inside the tensor data"),
        ("truncated-last-byte.safetensors", best[:-1],
         [(ALL, "tensor '%s': data offsets \\[[0-9]+, [0-9]+\\] lie outside the [0-9]+ data "
                "bytes$" % ln_f)],
         "one byte short"),
        # ---- the header length
        ("header-length-beyond-file.safetensors", set_header_length(best, len(best)),
         [(ALL, "header length %d but only %d bytes follow$" % (len(best), len(best) - 8))],
         "a header length larger than the file"),
        ("header-length-huge.safetensors", set_header_length(best, 2**63 - 1),
         [(ALL, "header length 9223372036854775807 but only")],
         "a header length of 2^63 - 1: refused before any allocation"),
        ("header-length-short.safetensors", set_header_length(best, hlen - 16),
         [(ALL, "malformed JSON header: unterminated string$")],
         "a header length 16 bytes short: the JSON is cut off (inside the last tensor's "
         "\"data_offsets\")"),
        ("header-length-long.safetensors", set_header_length(best, hlen + 16),
         [(ALL, "malformed JSON header: ")],
         "a header length 16 bytes long: tensor bytes read as JSON"),
        # ---- malformed JSON
        ("json-array.safetensors", pack("[" + header_text(split(best)[0])[1:-1] + "]", split(best)[1]),
         [(ALL, "malformed JSON header: it is not an object$")], "a JSON array, not an object"),
        ("json-shape-object.safetensors", text_edit(best, '"shape":[5,4]', '"shape":{5:4}'),
         [(ALL, "malformed JSON header: expected '\\['$")], "a shape that is not an array"),
        ("json-unclosed.safetensors", pack(header_text(split(best)[0])[:-1], split(best)[1]),
         [(ALL, "malformed JSON header: expected ',' or '}'$")], "the last '}' missing"),
        ("json-text-after.safetensors", pack(header_text(split(best)[0]) + "x", split(best)[1]),
         [(ALL, "malformed JSON header: text after the closing '}'$")], "text after the JSON"),
        ("json-unterminated-string.safetensors",
         pack(header_text(split(best)[0])[:60], split(best)[1]),
         [(ALL, "malformed JSON header: ")], "the header ends inside a string"),
        ("json-deep.safetensors",
         text_edit(best, '"dtype":"F32"', '"x":' + "[" * 40 + "]" * 40 + ',"dtype":"F32"'),
         [(ALL, "malformed JSON header: nested too deeply$")],
         "an unknown field nested 40 deep (the parser stops at 16, so no stack overflow)"),
        ("json-invalid-utf8.safetensors", text_edit(best, b'"%s"' % wte.encode(),
                                                    b'"%s\xff"' % wte.encode()),
         [(ALL, "malformed JSON header: invalid UTF-8 in a string$")],
         "a tensor name ending in the byte FF, which is never UTF-8"),
        ("json-bad-escape.safetensors", text_edit(best, '"vocab":"', '"vocab":"\\q'),
         [(ALL, "malformed JSON header: bad escape: a backslash before 'q'$")],
         "\\q is no JSON escape"),
        ("json-lone-surrogate.safetensors", text_edit(best, '"vocab":"', '"vocab":"\\ud800'),
         [(ALL, "malformed JSON header: unpaired surrogate$")],
         "a UTF-16 surrogate without its pair: no code point"),
        ("json-control-char.safetensors", text_edit(best, '"vocab":"', '"vocab":"\t'),
         [(ALL, "malformed JSON header: control character in a string$")],
         "a raw tab inside a string (JSON wants \\t)"),
        ("json-metadata-number.safetensors", text_edit(best, '"n_layer":"1"', '"n_layer":1'),
         [(ALL, "malformed JSON header: __metadata__ values must be strings$")],
         "a metadata value that is a number, not a string"),
        ("json-metadata-twice.safetensors",
         text_edit(best, '"transformer.wte', '"__metadata__":{},"transformer.wte'),
         [(ALL, "malformed JSON header: two __metadata__ entries$")], "two __metadata__ objects"),
        ("json-metadata-key-twice.safetensors",
         text_edit(best, '"n_layer":"1"', '"n_layer":"1","n_layer":"60000"'),
         [(ALL, "metadata key 'n_layer' appears twice$")],
         "n_layer given twice: which one would count?"),
        ("json-missing-offsets.safetensors", edited(best, without(wpe, "data_offsets")),
         [(ALL, "tensor '%s': missing data_offsets$" % wpe)], "a tensor without data_offsets"),
        ("json-field-twice.safetensors",
         text_edit(best, '"dtype":"F32"', '"dtype":"F32","dtype":"I32"'),
         [(ALL, "tensor '%s': 'dtype' given twice$" % wte)], "a tensor with two dtypes"),
        ("json-three-offsets.safetensors", text_edit(best, '"data_offsets":[0,80]', '"data_offsets":[0,40,80]'),
         [(ALL, "malformed JSON header: array longer than 2$")], "data_offsets with 3 numbers"),
        ("json-negative.safetensors", text_edit(best, '"shape":[5,4]', '"shape":[-5,4]'),
         [(ALL, "malformed JSON header: expected a non-negative integer$")], "a negative size"),
        ("json-huge-integer.safetensors",
         text_edit(best, '"data_offsets":[0,80]', '"data_offsets":[0,99999999999999999999]'),
         [(ALL, "malformed JSON header: integer too large$")], "an offset past 2^64"),
        ("json-name-too-long.safetensors", text_edit(best, wte, wte + "x" * 200),
         [(ALL, "tensor name too long \\(222 bytes\\)$")], "a 222-byte tensor name"),
        # ---- dtype
        ("dtype-unknown.safetensors", edited(best, with_tensor(wte, dtype="Q4X")),
         [(ALL, "tensor '%s': unknown dtype 'Q4X'$" % wte)], "a dtype safetensors does not define"),
        ("dtype-f16.safetensors", edited(best, with_tensor(wte, dtype="F16")),
         [(ALL, "tensor '%s': offsets span 80 bytes but its shape needs 40$" % wte)],
         "F16 with the bytes of F32: the sizes disagree"),
        ("dtype-i32.safetensors", edited(best, with_tensor(wte, dtype="I32")),
         [(ALL, mismatch + "tensor '%s' has dtype I32, expected F32$" % wte)],
         "I32, the same size as F32: well-formed, but not weights this model can use"),
        # ---- shape
        ("shape-transposed.safetensors", edited(best, with_tensor(wte, shape=[4, 5])),
         [(ALL, mismatch + "tensor '%s' has shape \\[4, 5\\], expected \\[5, 4\\]$" % wte)],
         "wte as [C, V] instead of [V, C]: the right size, the wrong shape"),
        ("shape-extra-dim.safetensors", edited(best, with_tensor(wte, shape=[5, 4, 1])),
         [(ALL, "has shape \\[5, 4, 1\\], expected \\[5, 4\\]$")], "a third dimension of 1"),
        ("shape-scalar.safetensors", edited(best, with_tensor(ln_f, shape=[])),
         [(ALL, "tensor '%s': offsets span 16 bytes but its shape needs 4$" % ln_f)],
         "shape [], a scalar: one float"),
        ("shape-size-mismatch.safetensors", edited(best, with_tensor(wte, shape=[5, 5])),
         [(ALL, "tensor '%s': offsets span 80 bytes but its shape needs 100$" % wte)],
         "a shape that needs more bytes than its offsets hold"),
        ("shape-overflow.safetensors", edited(best, with_tensor(wte, shape=[2**32, 2**32])),
         [(ALL, "tensor '%s': shape too large$" % wte)],
         "2^32 x 2^32 elements: the byte count overflows 64 bits"),
        ("shape-huge.safetensors", edited(best, with_tensor(wte, shape=[2**40, 1])),
         [(ALL, "offsets span 80 bytes but its shape needs 4398046511104$")],
         "a claimed 4 TB tensor in a 2 kB file: refused, never allocated"),
        ("shape-five-dims.safetensors", edited(best, with_tensor(wte, shape=[1, 1, 1, 5, 4])),
         [(ALL, "malformed JSON header: array longer than 4$")], "more dimensions than allowed"),
        # ---- offsets
        ("offsets-beyond-data.safetensors", edited(best, with_tensor(wpe, data_offsets=[80, 2080])),
         [(ALL, "tensor '%s': data offsets \\[80, 2080\\] lie outside the 960 data bytes$" % wpe)],
         "a tensor whose bytes would lie past the end of the file"),
        ("offsets-reversed.safetensors", edited(best, with_tensor(wpe, data_offsets=[144, 80])),
         [(ALL, "tensor '%s': data offsets \\[144, 80\\] lie outside" % wpe)], "end before begin"),
        ("offsets-overlap.safetensors", edited(best, with_tensor(c_proj, data_offsets=[80, 144])),
         [(ALL, "overlap: data offsets \\[80, 144\\] and \\[80, 144\\]$")],
         "two tensors on the same bytes (attn.c_proj moved onto wpe)"),
        ("offsets-gap.safetensors", edited(best, gap_after(wte, 16)),
         [(ALL, "data bytes \\[80, 96\\) belong to no tensor$")],
         "16 bytes between two tensors that belong to neither"),
        ("trailing-bytes.safetensors", best + bytes(16),
         [(ALL, "data bytes \\[960, 976\\) belong to no tensor$")], "16 bytes after the last tensor"),
        # ---- names
        ("duplicate-name.safetensors", text_edit(best, '"%s"' % wpe, '"%s"' % wte),
         [(ALL, "tensor '%s' appears twice$" % wte)], "two tensors called transformer.wte.weight"),
        ("missing-tensor.safetensors", edited(best, drop_tensor(ln_f)),
         [(ALL, mismatch + "tensor '%s' is missing$" % ln_f)], "no final layernorm"),
        ("extra-tensor.safetensors", edited(best, add_tensor("lm_head.weight", [5, 4])),
         [(ALL, mismatch + "unexpected tensor 'lm_head.weight' \\(a different model")],
         "an untied lm_head beside wte: another architecture"),
        ("foreign-names.safetensors", text_edit(best, '"transformer.', '"model.'),
         [(ALL, mismatch + "tensor '%s' is missing$" % wte)],
         "the weights under other names (another library's)"),
        # ---- the config does not match the tensors
        ("config-n-embd.safetensors", edited(best, with_meta(n_embd="8")),
         [(ALL, mismatch + "tensor '%s' has shape \\[5, 4\\], expected \\[5, 8\\]$" % wte)],
         "n_embd 8 beside 4-wide tensors"),
        ("config-n-embd-huge.safetensors", edited(best, with_meta(n_embd="65536")),
         [(ALL, "expected \\[5, 65536\\]$")],
         "n_embd 65536: a 200 GB model claimed in 2 kB, refused before any allocation"),
        ("config-n-layer.safetensors", edited(best, with_meta(n_layer="2")),
         [(ALL, mismatch + "tensor 'transformer.h.1.ln_1.weight' is missing$")],
         "n_layer 2 beside the tensors of one layer"),
        ("config-n-layer-huge.safetensors", edited(best, with_meta(n_layer="60000")),
         [(ALL, "its config has n_layer 60000, but it holds only 9 tensors$")],
         "n_layer 60000: refused before a model is built (it used to hang)"),
        ("config-block-huge.safetensors", edited(best, with_meta(block_size="65536")),
         [(ALL, "tensor '%s' has shape \\[4, 4\\], expected \\[65536, 4\\]$" % wpe)],
         "block_size 65536 beside a 4-row wpe: 100 GB of attention never allocated"),
        ("config-n-head.safetensors", edited(best, with_meta(n_head="3")),
         [(ALL, "n_embd 4 is not divisible by n_head 3$")], "heads that do not divide n_embd"),
        ("config-vocab-size.safetensors", edited(best, with_meta(vocab_size="6")),
         [(ALL, "its vocabulary has 5 characters but vocab_size is 6$")],
         "vocab_size 6 beside a 5-character vocabulary"),
        ("config-vocab-size-range.safetensors", edited(best, with_meta(vocab_size="99999999")),
         [(ALL, "metadata 'vocab_size' = '99999999' is not a whole number in \\[2, 1114112\\]$")],
         "more tokens than Unicode has code points"),
        ("config-missing.safetensors", edited(best, without("__metadata__", "n_layer")),
         [(ALL, "its metadata lacks 'n_layer'$")], "no n_layer"),
        ("config-not-a-number.safetensors", edited(best, with_meta(n_layer="one")),
         [(ALL, "metadata 'n_layer' = 'one' is not a whole number in \\[1, 65536\\]$")],
         "n_layer 'one'"),
        ("config-zero.safetensors", edited(best, with_meta(n_embd="0")),
         [(ALL, "metadata 'n_embd' = '0' is not a whole number in \\[1, 65536\\]$")], "n_embd 0"),
        ("config-overflow.safetensors", edited(best, with_meta(n_head="99999999999999999999")),
         [(ALL, "metadata 'n_head' = '99999999999999999999' is not a whole number")],
         "a number past 2^64"),
        ("vocab-unsorted.safetensors", edited(best, with_meta(vocab="\n ab\u00e9"[::-1])),
         [(ALL, "vocabulary is not sorted and unique at entry 1$")],
         "the vocabulary out of order: ids would mean other characters"),
        ("vocab-missing.safetensors", edited(best, without("__metadata__", "vocab")),
         [(ALL, "its metadata lacks 'vocab'$")], "no vocabulary"),
        ("format-unknown.safetensors", edited(best, with_meta(format="gpt-from-scratch/9")),
         [(ALL, "unknown format 'gpt-from-scratch/9' \\(expected gpt-from-scratch/1\\)$")],
         "a layout version this program does not know"),
        ("no-metadata.safetensors", edited(best, without("__metadata__")),
         [(ALL, "its metadata lacks 'n_layer'$")],
         "plain safetensors weights, without our config and vocabulary"),
        # ---- the training state (only --resume reads it)
        ("last-no-adamw.safetensors", edited(last, drop_tensor("adamw.v")),
         [("sample", "OK"), ("resume", "tensor 'adamw.v' is missing$")],
         "AdamW's second moment missing"),
        ("last-adamw-shape.safetensors", edited(last, with_tensor("adamw.m", shape=[120, 2])),
         [("sample", "OK"),
          ("resume", "tensor 'adamw.m' has shape \\[120, 2\\], expected \\[240\\]$")],
         "AdamW's first moment as [120, 2]: the right size, the wrong shape"),
        ("last-step-negative.safetensors", edited(last, with_meta(step="-1")),
         [("resume", "metadata 'step' = '-1' is not a whole number in \\[0, ")], "step -1"),
        ("last-step-huge.safetensors", edited(last, with_meta(step="1000000000000")),
         [("resume", "is already at step 1000000000000 \\(give a larger --iters to train "
                     "on\\)$")],
         "step 10^12, beyond any --iters: nothing to train, said before training"),
        ("last-rng-zero.safetensors", edited(last, with_meta(**{"rng.batch": "0"})),
         [("resume", "a random stream's state is 0, which xorshift cannot leave$")],
         "a random stream stuck at 0"),
        # the stored options: read with the command line's own parser and
        # ranges, so each error is --OPTION's, named by its key
        ("last-lr-nan.safetensors", edited(last, with_meta(**{"train.lr": "nan"})),
         [("resume", "metadata 'train.lr': 'nan' is not a number$")], "a learning rate of NaN"),
        ("last-lr-inf.safetensors", edited(last, with_meta(**{"train.lr": "inf"})),
         [("resume", "metadata 'train.lr': inf is out of range \\(1e-12 to 10\\)$")],
         "an infinite learning rate"),
        ("last-min-lr-negative.safetensors", edited(last, with_meta(**{"train.min_lr": "-5"})),
         [("resume", "metadata 'train.min_lr': -5 is out of range \\(0 to 10\\)$")],
         "a negative final learning rate"),
        ("last-dropout-high.safetensors", edited(last, with_meta(**{"train.dropout": "0.99"})),
         [("resume", "metadata 'train.dropout': 0.99 is out of range \\(0 to 0.95\\)$")],
         "dropout 0.99, past --dropout's limit"),
        ("last-iters-huge.safetensors",
         edited(last, with_meta(**{"train.iters": "9223372036854775807"})),
         [("resume", "metadata 'train.iters': 9223372036854775807 is out of range \\(1 to "
                     "1000000000\\)$")],
         "2^63 - 1 iterations, far past --iters' limit"),
        ("last-batch-zero.safetensors", edited(last, with_meta(**{"train.batch": "0"})),
         [("resume", "metadata 'train.batch': 0 is out of range \\(1 to 65536\\)$")],
         "a batch of 0"),
        ("last-preset-unknown.safetensors", edited(last, with_meta(**{"train.preset": "huge"})),
         [("resume", "its preset 'huge' is unknown \\(cpu-small, seed000 or full\\)$")],
         "a preset this program does not have"),
        ("last-no-preset.safetensors", edited(last, without("__metadata__", "train.preset")),
         [("resume", "OK")],
         "no train.preset, as files written before it was stored: still resumes"),
    ]


def main():
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        text = os.path.join(OUT, "train.txt")
        with open(text, "w", encoding="utf-8") as f:
            f.write(TEXT)
        subprocess.run([GPT, "train", "--data", text, "--out", tmp] + MODEL, check=True,
                       stdout=subprocess.DEVNULL)
        with open(os.path.join(tmp, "best.safetensors"), "rb") as f:
            best = f.read()
        with open(os.path.join(tmp, "last.safetensors"), "rb") as f:
            last = f.read()
    for name in os.listdir(OUT):
        if name.endswith(".safetensors"):
            os.remove(os.path.join(OUT, name))
    lines = [
        "# Hand-made checkpoints for the loader, written by tests/make_bad_checkpoints.py",
        "# from good-best and good-last (which `gpt train` wrote on train.txt).",
        "# One line per file and set of commands: FILE|COMMANDS|PATTERN|WHAT.",
        "# COMMANDS: sample, eval, resume (gpt sample --ckpt FILE, gpt eval --ckpt FILE",
        "# --data train.txt, gpt train --data train.txt --resume FILE). PATTERN: an",
        "# extended regex the one line on stderr must match, or OK (exit 0).",
        "# tests/reliability_checkpoints.sh runs them all; every *.safetensors file",
        "# here must have a line. The files also seed the fuzzers.",
    ]
    for name, blob, expectations, what in cases(best, last):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(blob)
        for commands, pattern in expectations:
            assert "|" not in pattern and "|" not in what, name
            lines.append("%s|%s|%s|%s" % (name, commands, pattern, what))
    with open(os.path.join(OUT, "index"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %d files to %s" % (len(cases(best, last)), OUT))


if __name__ == "__main__":
    main()
