"""The walker-walk table of docs/skills.md ("What the value fits") from the committed runs:
skill_mi's mean and share of logs above 0.5 nats over 30-60k and 60-100k frames, the medians
of the value loss and of the actor's gradient norm after 15k frames, and the mean eval return
over 25-45k and 55-100k frames; a row for each committed seed. With --trajectory, one run's
logs over the frame ranges between the given edges (in thousands): the means of skill_mi, the
predictor's log-likelihood, the imagined task and intrinsic rewards and the actor's pre-tanh
entropy, the median actor gradient norm, and the intrinsic weight at the range's end.

  python scripts/walker_table.py [METHOD ...]
  python scripts/walker_table.py --trajectory METHOD SEED EDGE EDGE ...
"""
import json
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent / 'docs/skills/runs/skills_walker/dmc_walker_walk'
METHODS = ('lsp_literal', 'no_mi', 'lsp_mi_x3', 'lsp_mi_x3_skill_value', 'lsp_mi_x3_task_value',
           'lsp_mi_task_value', 'lsp_mi_x03_task_value', 'lsp_mi_std03_task_value',
           'lsp_mi_target07_task_value')


def read(method, seed):
  return [json.loads(line) for line in (ROOT / method / seed / 'metrics.jsonl').open()]


def row(method, seed):
  records = read(method, seed)
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


def trajectory(method, seed, edges):
  records = [r for r in read(method, seed) if 'skill_mi' in r]
  for lo, hi in zip(edges[:-1], edges[1:]):
    logs = [r for r in records if lo * 1e3 < r['step'] <= hi * 1e3]
    mean = lambda key: np.mean([r[key] for r in logs])
    weight = logs[-1].get('intrinsic_scale')  # Logged since skill_mi_target_lr existed.
    print(f'{lo:g}-{hi:g}k: skill_mi {mean("skill_mi"):.2f}, log-likelihood '
          f'{mean("skill_pred_logprob"):.2f}, task reward {mean("task_reward"):.3f}, intrinsic '
          f'reward {mean("intrinsic_reward"):.2f}, actor entropy {mean("actor_base_ent"):.1f}, '
          f'actor grad norm {np.median([r["actor_grad_norm"] for r in logs]):.3g}'
          + ('' if weight is None else f', intrinsic weight {weight:.3g}'))


if __name__ == '__main__':
  if sys.argv[1:2] == ['--trajectory']:
    trajectory(sys.argv[2], sys.argv[3], [float(edge) for edge in sys.argv[4:]])
    sys.exit()
  for method in sys.argv[1:] or METHODS:
    for seed in sorted(path.name for path in (ROOT / method).glob('seed*')):
      print(row(method, seed))
