"""Compare the methods of a sweep: scores with 95% confidence intervals over seeds, the probability
of improvement over a baseline, and the learning curves of every seed.

  python -m dreamer_lsp.report SWEEP_ROOT [MORE_ROOTS ...] [--out DIR] [--metrics eval_return train_return
      skill_mi skill_r2 skill_spread] [--groups NAME=SEEDS ...] [--baseline dreamer]
      [--bins 50] [--reps 2000] [--thresholds 0.25 0.5] [--success 0.5] [--random-file JSONL]

Several roots (or subdirectories of one, e.g. ROOT/TASK) are reported together, as one sweep.
Writes DIR/report.md (DIR defaults to SWEEP_ROOT/report) and DIR/METRIC.png for every metric
that the runs record. The skill metrics only exist for skill agents (docs/skills.md says what
each can show): `skill_mi`, the mutual information bound of Sec. 3.2 in nats, on the model's
imagined rollouts; `skill_r2`, the held-out R² of a decoder of the skill from the real train
episodes' windows, whose section and figure also give its reference `skill_r2_start` (the
decoder of the start observation alone; dashed); and `skill_spread`, the std of the imagined
skills within an update.

Only finished runs are scored: those whose metrics.jsonl reaches the `steps` of their
config.yaml. The others are listed as unfinished. The scores of a run:
- final: the mean of the metric's values at steps ≥ 0.9 × its configured steps, the same frames
  for every run of the same length;
- AUC: the area under the metric-vs-steps curve divided by the steps it spans, i.e. the average
  over training, which rewards learning early.
Per task, seed group and method, over the seeds, with `rliable` (Agarwal et al., 2021): the mean
of each score with a 95% stratified bootstrap confidence interval (percentile method, `--reps`
resamples, seeded), and the interquartile mean (IQM) of the final with its interval from 4 seeds
on (below that it trims nothing: it is the mean). A single seed gets no interval. Per seed group,
the probability of improvement of each method over `--baseline`: the probability that a seed of
the method ends above a seed of the baseline on the same task (final), averaged over the tasks
where both have finished runs, with its 95% interval.

`--groups tuning=0,1 fresh=2,3,4` reports each group of seeds apart, in its own tables and
panels; without it all seeds form one group, and with it seeds of no group form `other`. The
report lists the code of every run (its code.jsonl: the commit and whether the tree was dirty,
at each start) and marks with ⚠ every row that pools runs of different or unverifiable code.

Frames to threshold (thresholds.py; the transfer campaign's measure, docs/results/transfer), over
the finished runs of each task, seed groups pooled: `--thresholds 0.25 0.5` sets return thresholds
at those fractions of the task's best final eval_return, and `--success 0.5` one at that
eval_success (the share of eval episodes that reached the goal, logged on goal tasks). Each run's
frames to a threshold are the step of its first evaluation at or above it, or "not reached by N
frames" (N its last evaluated step); over seeds, the mean when every seed reached it, else how
many did and their frames. `--random-file` takes scripts/random_return.py's JSON lines: where no
run's final ends above the random return of its env task, the task's return thresholds are not
computed ("inconclusive: nothing learned above random"), nor is a threshold at or below that
return; without the file that is not checked, and the report says so. Without `--thresholds` and `--success` the section is left out.
"""
import argparse
import collections
import os
import pathlib
import re
import sys

import numpy as np
import pandas as pd
from rliable import library as rly
from rliable import metrics as rly_metrics

from dreamer_lsp import logdir as logdir_lib
from dreamer_lsp import plot
from dreamer_lsp import thresholds as thresholds_lib

METRICS = ('eval_return', 'train_return', 'skill_mi', 'skill_r2', 'skill_spread')
FINAL = 0.9  # The final is the mean over the steps from FINAL × the configured steps on.
IQM_SEEDS = 4  # The fewest seeds from which an interquartile mean trims any.


def code_label(logdir):
  """The commits that a run ran on, in order, `(dirty)` where the tree was; `unrecorded` for runs
  made before code.jsonl existed."""
  labels = []
  for record in logdir_lib.code_records(logdir):
    label = record['commit'][:7] + ' (dirty)' * bool(record['dirty'])
    if label not in labels:
      labels.append(label)
  return ' → '.join(labels) or 'unrecorded'


def pools_other_code(labels):
  """Whether runs of these code labels may have run different code: they differ, or several
  runs share one that is dirty, unknown or more than one commit."""
  return len(set(labels)) > 1 or (
      len(labels) > 1 and not re.fullmatch('[0-9a-f]{7}', labels[0]))


def group_of(seed, groups):
  if not groups:
    return 'all'
  return next((name for name, seeds in groups.items() if seed in seeds), 'other')


def load_runs_info(roots, groups):
  """One row per run under the roots, indexed by logdir: its labels, the env task of its config,
  seed group, configured and reached steps, whether it finished, its eval episodes and code."""
  rows = []
  for logdir in plot.find_logdirs(roots):
    root = next(root for root in roots if logdir.is_relative_to(root))
    config, labels = plot.run_labels(logdir)
    if 'steps' not in config:
      raise ValueError(f'{logdir / "config.yaml"} has no steps.')
    reached, finished = logdir_lib.progress(logdir, config['steps'])
    rows.append(dict(
        **labels, env=config['task'], logdir=str(logdir), run=os.path.relpath(logdir, root),
        group=group_of(labels['seed'], groups), steps=config['steps'], reached=reached,
        finished=finished, episodes=config.get('eval_episodes', '—'),
        code=code_label(logdir)))
  columns = ['task', 'method', 'seed', 'env', 'logdir', 'run', 'group', 'steps', 'reached',
             'finished', 'episodes', 'code']
  info = pd.DataFrame(rows, columns=columns).set_index('logdir', drop=False)
  twice = info[info.duplicated(['task', 'method', 'seed'], keep=False)]
  if not twice.empty:
    raise ValueError('Two runs of the same task, method and seed: ' + ', '.join(twice.logdir))
  return info


def scores(runs, info):
  """Final value (NaN if no value falls in its window) and normalised area under the curve of
  every run, with its info."""
  rows = []
  for logdir, run in runs.groupby('logdir'):
    run = run.sort_values('step')
    steps, values = run.step.to_numpy(float), run.value.to_numpy(float)
    configured = info.steps[logdir]
    window = (steps >= FINAL * configured) & (steps <= configured)
    span = steps[-1] - steps[0]
    rows.append(dict(
        info.loc[logdir], final=values[window].mean() if window.any() else np.nan,
        final_at=', '.join(f'{step:,.0f}' for step in steps[window]),
        auc=np.trapezoid(values, steps) / span if span else values.mean()))
  columns = [*info.columns, 'final', 'final_at', 'auc']
  return pd.DataFrame(rows, columns=columns).sort_values(['task', 'method', 'seed'])


def bootstrap(scores, function, reps):
  """rliable's point estimates and 95% stratified bootstrap intervals of function on each entry
  of scores (an array of runs × tasks, or a list of them), seeded. rliable draws its resamples
  from NumPy's global generator, not from its `random_state`: seed that, and restore it."""
  state = np.random.get_state()
  np.random.seed(0)
  try:
    return rly.get_interval_estimates(scores, function, reps=reps)
  finally:
    np.random.set_state(state)


def mean_and_iqm(scores):
  return np.array([rly_metrics.aggregate_mean(scores), rly_metrics.aggregate_iqm(scores)])


def interval(point, low, high):
  return f'{point:.2f} [{low:.2f}, {high:.2f}]'


def table(scores, reps):
  """Markdown table with one row per task and method: n, final (mean and IQM) and AUC (mean)."""
  rows = scores.groupby(['task', 'method'])
  values = {
      (*key, score): group[score].to_numpy()[:, None]
      for key, group in rows if len(group) > 1 for score in ('final', 'auc')}
  points, intervals = bootstrap(values, mean_and_iqm, reps) if values else ({}, {})
  lines = [
      '| task | method | n | final: mean [95% CI] | final: IQM [95% CI] | AUC: mean [95% CI] '
      '| code |',
      '| --- | --- | ---: | ---: | ---: | ---: | --- |']
  for (task, method), group in rows:
    if len(group) == 1:
      final, iqm, auc = f'{group.final.iloc[0]:.2f}', '—', f'{group.auc.iloc[0]:.2f}'
    else:
      final, auc = (
          interval(points[task, method, score][0], *intervals[task, method, score][:, 0])
          for score in ('final', 'auc'))
      iqm = '—'
      if len(group) >= IQM_SEEDS:
        iqm = interval(points[task, method, 'final'][1], *intervals[task, method, 'final'][:, 1])
    code = '⚠ ' * pools_other_code(list(group.code)) + ', '.join(sorted(set(group.code)))
    lines.append(f'| {task} | {method} | {len(group)} | {final} | {iqm} | {auc} | {code} |')
  return lines


def odd_finals(scores):
  """Lines naming the runs whose final was averaged over other steps than most of their task's."""
  lines = []
  for _, group in scores.groupby('task'):
    common = collections.Counter(group.final_at).most_common(1)[0][0]
    for run in group[group.final_at != common].itertuples():
      lines.append(
          f'- {run.run}: its final averages the values at steps {run.final_at}, most runs of '
          f'its task at {common}.')
  return lines


def improvement(scores, baseline, reps):
  """Markdown table of the probability of improvement of each method over the baseline."""
  base = scores[scores.method == baseline]
  matrices, rows = {}, []
  for method, group in scores[scores.method != baseline].groupby('method'):
    tasks = sorted(set(group.task) & set(base.task))
    if not tasks:
      continue
    # rliable takes runs × tasks: the same seeds count on every task, the lowest seeds kept.
    finals = [[frame[frame.task == task].sort_values('seed').final.to_numpy() for task in tasks]
              for frame in (group, base)]
    kept = [min(map(len, method_finals)) for method_finals in finals]
    left_out = sum(len(f) for f in finals[0] + finals[1]) - len(tasks) * sum(kept)
    matrices[method] = [np.stack([f[:k] for f in fs], 1) for fs, k in zip(finals, kept)]
    rows.append((method, tasks, kept, left_out))
  if not rows:
    return []
  points, intervals = bootstrap(matrices, rly_metrics.probability_of_improvement, reps)
  lines = [
      f'P(improvement) over {baseline} (final; over the tasks where both have finished runs):',
      '',
      f'| method | tasks | seeds per task: method, {baseline} | P(improvement) [95% CI] |',
      '| --- | --- | --- | ---: |']
  for method, tasks, kept, left_out in rows:
    seeds = f'{kept[0]}, {kept[1]}' + f' ({left_out} runs left out)' * bool(left_out)
    estimate = (f'{points[method]:.2f} (one seed each: no interval)' if kept == [1, 1] else
                interval(points[method], *intervals[method][:, 0]))
    lines.append(f'| {method} | {", ".join(tasks)} | {seeds} | {estimate} |')
  return [*lines, '']


def by_group(frame, groups):
  """The rows of each seed group, in the order of `groups`."""
  for group in [*(groups or {}), 'other', 'all']:
    if (frame.group == group).any():
      yield group, frame[frame.group == group]


def section(scores, groups, baseline, reps):
  """The tables of a metric, one per seed group."""
  lines = []
  for group, frame in by_group(scores, groups):
    seeds = ', '.join(map(str, sorted(frame.seed.unique())))
    notes = [
        f'- {run.run}: no value at steps {FINAL} × {run.steps:,} to {run.steps:,}, left out.'
        for run in frame[frame.final.isna()].itertuples()]
    frame = frame.dropna(subset=['final'])
    notes += odd_finals(frame)
    lines += [f'### {group} seeds: {seeds}', '', *table(frame, reps), '']
    lines += [*notes, ''] if notes else []
    lines += improvement(frame, baseline, reps)
  return lines


def runs_section(info, groups):
  """Every run, its steps, eval episodes and code; per group, whether its code differs."""
  lines = [
      '## Runs', '',
      '| seeds | run | steps reached / configured | eval episodes | code |',
      '| --- | --- | ---: | ---: | --- |']
  for _, frame in by_group(info, groups):
    for run in frame.sort_values('run').itertuples():
      lines.append(
          f'| {run.group} | {run.run} | {run.reached:,} / {run.steps:,} | {run.episodes} '
          f'| {run.code} |')
  lines.append('')
  for group, frame in by_group(info, groups):
    labels = sorted(set(frame.code))
    if pools_other_code(list(frame.code)):
      lines.append(
          f'- ⚠ Seed group {group}: its runs ran on different or unverifiable code '
          f'({"; ".join(labels)}), and its tables and comparisons pool them.')
    else:
      lines.append(f'- Seed group {group}: all its runs ran on commit {labels[0]}, clean.')
  return [*lines, '']


def header(info, baseline, reps):
  lines = [
      'Scores of the finished runs. **final**: the mean of a run\'s values at steps ≥ '
      f'{FINAL} × its configured steps; **AUC**: the area under its curve divided by the steps '
      'it spans (the average over training). Per task and method over the seeds of a group: '
      '**n** seeds, the **mean [95% CI]**, a stratified bootstrap confidence interval over '
      f'seeds (rliable, percentile method, {reps} resamples, seeded), and the **IQM** '
      f'(interquartile mean) of the final with its interval from {IQM_SEEDS} seeds on (with '
      'fewer it trims nothing: it is the mean). One seed gets no interval, and the interval of '
      '2 or 3 seeds cannot be wider than their range: it understates the uncertainty. '
      f'**P(improvement)** over {baseline}: the probability that a seed of the method ends '
      f'above a seed of {baseline} on the same task, averaged over the tasks (rliable), with '
      'its 95% interval. **code**: the commits the runs ran on (see Runs); ⚠ marks a row that '
      'pools runs of different code, or of a dirty or unrecorded tree. The figures draw every '
      'seed (thin) and the mean ± the sample std over seeds (ddof=1), of the finished runs.', '']
  unfinished = info[~info.finished]
  if not unfinished.empty:
    lines += ['**Unfinished runs, left out of the scores:** ' + '; '.join(
        f'{run.run} ({run.reached:,} of {run.steps:,} steps)'
        for run in unfinished.itertuples()) + '.', '']
  return lines


def finished_runs(roots, metric, info):
  runs = plot.load_runs(roots, metric)
  return runs[runs.logdir.map(info.finished).astype(bool)]


def thresholds_section(roots, info, fractions, success, random):
  """Frames to threshold (thresholds.py) of the finished runs, every seed group together."""
  returns = finished_runs(roots, 'eval_return', info)
  return thresholds_lib.section(
      returns, scores(returns, info), finished_runs(roots, 'eval_success', info), info,
      fractions, success, random)


def report(roots, out, metrics=METRICS, bins=50, groups=None, baseline='dreamer', reps=2000,
           thresholds=(), success=None, random=None):
  """Write out/report.md and a figure per metric from the runs under `roots` (a directory or a
  list of them); returns the scores of every finished run. With `thresholds` (fractions of the
  best final eval_return) or `success` (an eval_success), report.md also gives each run's frames
  to them; `random` maps env tasks to the return of random actions."""
  roots = [pathlib.Path(roots)] if isinstance(roots, (str, os.PathLike)) else list(
      map(pathlib.Path, roots))
  out = pathlib.Path(out)
  info = load_runs_info(roots, groups)
  lines = [f'# {" + ".join(root.resolve().name for root in roots)}', '',
           *header(info, baseline, reps)]
  results = {}

  def finished(metric):
    runs = finished_runs(roots, metric, info)
    if groups:  # A panel per task and seed group.
      runs = runs.assign(task=runs.task + ' (' + runs.logdir.map(info.group) + ' seeds)')
    return runs

  for metric in metrics:
    runs = finished(metric)
    if runs.empty:
      continue
    out.mkdir(parents=True, exist_ok=True)  # Only now: a bad root leaves nothing behind.
    reference = plot.REFERENCES.get(metric)
    reference_runs = finished(reference) if reference else pd.DataFrame()
    plot.plot_curves(
        plot.aggregate(runs, bins), out / f'{metric}.png', metric,
        None if reference_runs.empty else plot.aggregate(reference_runs, bins), runs)
    results[metric] = scores(runs, info)
    lines += [f'## {metric}', '', *section(results[metric], groups, baseline, reps)]
    if not reference_runs.empty:
      results[reference] = scores(reference_runs, info)
      lines += [f'Its reference, {reference} (dashed in the figure):', '',
                *section(results[reference], groups, baseline, reps)]
    lines += [f'![{metric}]({metric}.png)', '']
  if not results:
    unfinished = (~info.finished).sum()
    note = f' ({unfinished} unfinished runs left out)' if unfinished else ''
    raise ValueError(
        f'No runs with any of {list(metrics)} found in {", ".join(map(str, roots))}{note}.')
  if thresholds or success is not None:
    lines += thresholds_section(roots, info, thresholds, success, random)
  lines += runs_section(info, groups)
  (out / 'report.md').write_text('\n'.join(lines))
  return results


def parse_group(text):
  """NAME=SEED,SEED,... as (NAME, seeds)."""
  name, _, seeds = text.partition('=')
  try:
    return name, [int(seed) for seed in seeds.split(',')]
  except ValueError:
    raise argparse.ArgumentTypeError(f'{text!r} is not NAME=SEED,SEED,...') from None


def main(argv=None):
  parser = argparse.ArgumentParser(
      'python -m dreamer_lsp.report', description=__doc__,
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('roots', nargs='+', type=pathlib.Path, metavar='root')
  parser.add_argument('--out', type=pathlib.Path)
  parser.add_argument('--metrics', nargs='+', default=list(METRICS))
  parser.add_argument('--groups', nargs='+', type=parse_group, default=[], metavar='NAME=SEEDS')
  parser.add_argument('--baseline', default='dreamer')
  parser.add_argument('--bins', type=int, default=50)
  parser.add_argument('--reps', type=int, default=2000, help='bootstrap resamples')
  parser.add_argument('--thresholds', nargs='+', type=float, default=[], metavar='FRACTION')
  parser.add_argument('--success', type=float)
  parser.add_argument('--random-file', type=pathlib.Path, metavar='JSONL')
  args = parser.parse_args(argv)
  out = args.out or args.roots[0] / 'report'

  def run():  # Within exit_code: a missing or bad random file is one line too.
    random = thresholds_lib.load_random(args.random_file) if args.random_file else {}
    report(
        args.roots, out, args.metrics, args.bins, dict(args.groups), args.baseline, args.reps,
        args.thresholds, args.success, random)

  code = plot.exit_code(run)
  if code == 0:
    print(f'Wrote {out / "report.md"}')
  return code


if __name__ == '__main__':
  sys.exit(main())
