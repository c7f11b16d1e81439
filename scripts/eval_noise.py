"""How much of a run's final eval return is evaluation noise: the standard error of the final
from its episodes, beside how much consecutive evaluations of the run swing.

  .venv/bin/python -m scripts.eval_noise LOGDIR [LOGDIR ...]

The final is the mean return of the eval episodes of the last `--last` evaluations (the
report's final: the evaluations at 92k and 100k frames of a 100k-frame run evaluated every 10k).
Its standard error is their sample std over the square root of their number. Reads the episodes
in LOGDIR/eval_eps, so it needs a run's logdir, not a collected copy. Prints one JSON object
per run.
"""
import argparse
import json
import pathlib

import numpy as np

from dreamer_lsp import logdir as logdir_lib


def eval_noise(logdir, last=2, late=5):
  groups = logdir_lib.evaluations(logdir)
  if len(groups) < last:
    raise ValueError(f'{logdir}: {len(groups)} complete evaluations, fewer than {last}')
  evals = np.array([[logdir_lib.episode_return(e) for e in group] for group in groups])
  final = evals[-last:].ravel()
  return dict(
      evals=len(evals), episodes_per_eval=evals.shape[1],
      final=float(final.mean()),
      final_standard_error=float(final.std(ddof=1) / np.sqrt(len(final))),
      episode_std=float(evals.std(axis=1, ddof=1).mean()),
      late_eval_std=float(evals[-late:].mean(axis=1).std(ddof=1)))


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('logdirs', nargs='+', type=pathlib.Path)
  parser.add_argument('--last', type=int, default=2, help='evaluations in the final')
  parser.add_argument('--late', type=int, default=5,
                      help='last evaluations whose means give late_eval_std')
  args = parser.parse_args()
  for logdir in args.logdirs:
    row = eval_noise(logdir, args.last, args.late)
    print(json.dumps({'run': str(logdir), **{
        k: round(v, 1) if isinstance(v, float) else v for k, v in row.items()}}))


if __name__ == '__main__':
  main()
