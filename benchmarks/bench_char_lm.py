"""Lesson 8's character model over three seeds, against the n-grams.

Run ``python benchmarks/bench_char_lm.py`` (``--quick`` for a smoke run
of a few updates). It repeats the run of lesson 8, section 1, exactly:
*Hamlet*, the first 90% for training and the last 10% for validation,
interpolated Kneser-Ney n-grams of orders 1 to 5, and ``CharLM`` (an
LSTM, E = 32, H = 256) trained by
:func:`helpers.support.training.train_char_lm` for 700 updates on one
thread, once per seed. It prints the validation bits per character of
each and the CPU seconds of each training run, so that the lesson's
one-seed claim "the LSTM beats the best n-gram within about a minute"
can be checked for its spread over seeds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.support import data, training  # noqa: E402
from helpers.support.models import CharLM  # noqa: E402
from helpers.support.ngram import NGramLM  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="20 updates per seed, orders 1-3 only")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    text = data.load_char_corpus()
    chars = data.build_char_vocab(text)
    ids = chars.encode(text)
    split = int(0.9 * len(ids))
    train_ids, val_ids = ids[:split], ids[split:]
    x_val, y_val = training.stream_batches(val_ids, 8)
    targets = y_val.reshape(-1).numpy()
    history = x_val.reshape(-1).numpy()[:1]
    orders = range(1, 4 if args.quick else 6)
    ngram = {n: NGramLM(train_ids, len(chars), n).bits_per_char(
        targets, history) for n in orders}
    for n, bits in ngram.items():
        print(f"n-gram order {n}: {bits:.4f} bits per character")
    best = min(ngram.values())
    steps = 20 if args.quick else 700
    results = []
    for seed in range(args.seeds):
        model = CharLM(len(chars), 32, 256, cell="lstm", seed=seed)
        run = training.train_char_lm(model, train_ids, x_val, y_val,
                                     steps=steps, progress=False)
        results.append((run["val_bits"][-1], run["seconds"][-1]))
        print(f"LSTM seed {seed}: {results[-1][0]:.4f} bits per character "
              f"after {steps} updates, {results[-1][1]:.1f} CPU s; "
              f"{'below' if results[-1][0] < best else 'NOT below'} the "
              f"best n-gram ({best:.4f})")
    bits = np.array([r[0] for r in results])
    print(f"LSTM over {len(bits)} seeds: mean {bits.mean():.4f}, range "
          f"{bits.min():.4f}-{bits.max():.4f}; best n-gram {best:.4f}")


if __name__ == "__main__":
    main()
