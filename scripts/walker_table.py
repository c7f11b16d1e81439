"""The walker-walk table of docs/skills.md ("What the value fits") from the committed runs:
skill_mi's mean and share of logs above 0.5 nats over 30-60k and 60-100k frames, the medians
of the value loss and of the actor's gradient norm after 15k frames, and the mean eval return
over 25-45k and 55-100k frames; a row for each committed seed.

  python scripts/walker_table.py [METHOD ...]
"""
import json
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent / 'docs/skills/runs/skills_walker/dmc_walker_walk'
METHODS = ('lsp_literal', 'no_mi', 'lsp_mi_x3', 'lsp_mi_x3_skill_value', 'lsp_mi_x3_task_value',
           'lsp_mi_task_value', 'lsp_mi_x03_task_value', 'lsp_mi_std03_task_value',
           'lsp_mi_target07_task_value')


def row(method, seed):
  records = [json.loads(line) for line in (ROOT / method / seed / 'metrics.jsonl').open()]
  values = lambda key, lo, hi: np.array(
      [r[key] for r in records if key in r and lo < r['step'] <= hi])
  name = f'`{method}`' if seed == 'seed0' else f'`{method}` ({seed})'
  cells = [name, f'{max(r["step"] for r in records) / 1e3:.0f}k']
  for lo, hi in ((30e3, 60e3), (60e3, 100e3)):
    mi = values('skill_mi', lo, hi)
    cells.append(f'{mi.mean():.2f} ({np.mean(mi > 0.5):.0%})' if len(mi) else '')
  for key in ('value_loss', 'actor_grad_norm'):
    cells.append(f'{np.median(values(key, 15e3, 1e9)):.3g}')
  for lo, hi in ((25e3, 45e3), (55e3, 100e3)):
    returns = values('eval_return', lo, hi)
    cells.append(f'{returns.mean():.0f}' if len(returns) else '')
  return '| ' + ' | '.join(cells) + ' |'


if __name__ == '__main__':
  for method in sys.argv[1:] or METHODS:
    for seed in sorted(path.name for path in (ROOT / method).glob('seed*')):
      print(row(method, seed))
