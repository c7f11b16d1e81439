"""Compare the methods of a sweep: a Markdown table of scores and the learning curves.

  python -m dreamer_lsp.report SWEEP_ROOT [--out DIR] [--metrics eval_return train_return
      skill_mi skill_r2 skill_spread] [--bins 50]

Writes DIR/report.md (DIR defaults to SWEEP_ROOT/report) and DIR/METRIC.png for every metric
that the runs record. The skill metrics only exist for skill agents (docs/skills.md says what
each can show): `skill_mi`, the mutual information bound of Sec. 3.2 in nats, on the model's
imagined rollouts; `skill_r2`, the held-out R² of a decoder of the skill from the real train
episodes' windows, whose section and figure also give its reference `skill_r2_start` (the
decoder of the start observation alone; dashed); and `skill_spread`, the std of the imagined
skills within an update. Per task and method, over seeds as mean ± std:
- final: the mean of the metric over the last 10% of the steps of a run;
- AUC: the area under the metric-vs-steps curve divided by the steps it spans, i.e. the average
  over training, which rewards learning early;
- steps: the fewest steps that a seed has reached, to spot unfinished runs.
"""
import argparse
import pathlib
import sys

import numpy as np
import pandas as pd

from dreamer_lsp import plot


def scores(runs):
  """Final value and normalised area under the curve of every run."""
  rows = []
  for (task, method, logdir), run in runs.groupby(['task', 'method', 'logdir']):
    run = run.sort_values('step')
    steps, values = run.step.to_numpy(float), run.value.to_numpy(float)
    span = steps[-1] - steps[0]
    rows.append(dict(
        task=task, method=method, logdir=logdir, steps=steps[-1],
        final=values[steps >= 0.9 * steps[-1]].mean(),
        auc=np.trapezoid(values, steps) / span if span else values.mean()))
  return pd.DataFrame(rows)


def table(scores):
  """Markdown table with one row per task and method."""
  def stats(values):
    return f'{values.mean():.2f} ± {values.std(ddof=0):.2f}'
  lines = [
      '| task | method | final | AUC | seeds | steps |',
      '| --- | --- | ---: | ---: | ---: | ---: |']
  for (task, method), group in scores.groupby(['task', 'method']):
    lines.append(
        f'| {task} | {method} | {stats(group.final)} | {stats(group.auc)} '
        f'| {len(group)} | {group.steps.min():,.0f} |')
  return lines


METRICS = ('eval_return', 'train_return', 'skill_mi', 'skill_r2', 'skill_spread')


def report(root, out, metrics=METRICS, bins=50):
  """Write out/report.md and a figure per metric; returns the scores of every run."""
  out = pathlib.Path(out)
  lines = [f'# {pathlib.Path(root).resolve().name}', '']
  results = {}
  for metric in metrics:
    runs = plot.load_runs([root], metric)
    if runs.empty:
      continue
    out.mkdir(parents=True, exist_ok=True)  # Only now: a bad root leaves nothing behind.
    reference = plot.REFERENCES.get(metric)
    reference_runs = plot.load_runs([root], reference) if reference else pd.DataFrame()
    plot.plot_curves(
        plot.aggregate(runs, bins), out / f'{metric}.png', metric,
        None if reference_runs.empty else plot.aggregate(reference_runs, bins))
    results[metric] = scores(runs)
    lines += [f'## {metric}', '', *table(results[metric]), '']
    if not reference_runs.empty:
      results[reference] = scores(reference_runs)
      lines += [f'Its reference, {reference} (dashed in the figure):', '',
                *table(results[reference]), '']
    lines += [f'![{metric}]({metric}.png)', '']
  if not results:
    raise ValueError(f'No runs with any of {list(metrics)} found in {root}.')
  (out / 'report.md').write_text('\n'.join(lines))
  return results


def main(argv=None):
  parser = argparse.ArgumentParser(
      'python -m dreamer_lsp.report', description=__doc__,
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('root', type=pathlib.Path)
  parser.add_argument('--out', type=pathlib.Path)
  parser.add_argument('--metrics', nargs='+', default=list(METRICS))
  parser.add_argument('--bins', type=int, default=50)
  args = parser.parse_args(argv)
  out = args.out or args.root / 'report'
  code = plot.exit_code(report, args.root, out, args.metrics, args.bins)
  if code == 0:
    print(f'Wrote {out / "report.md"}')
  return code


if __name__ == '__main__':
  sys.exit(main())
