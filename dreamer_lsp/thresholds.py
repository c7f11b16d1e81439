"""Frames to threshold, the transfer campaign's measure of transfer speed (the thresholds of
docs/results/transfer/README.md): the first evaluation at which a run reaches a fraction of the
best final eval return on its task, or an eval success rate. report.py's `--thresholds` and
`--success` write it as a section of report.md."""
import json
import pathlib

import numpy as np
import pandas as pd

NOTHING_LEARNED = 'inconclusive: nothing learned above random'
OUTCOMES = ['logdir', 'threshold', 'frames', 'last_step']


def load_random(path):
  """The mean return of random actions per task, from scripts.random_return's JSON lines."""
  lines = pathlib.Path(path).read_text().splitlines()
  return {record['task']: record['mean'] for record in map(json.loads, filter(str.strip, lines))}


def fraction_name(fraction):
  return f'{100 * fraction:g}% of best'


def success_name(success):
  return f'eval_success ≥ {success:g}'


def return_thresholds(finals, fractions, random):
  """Per task of `finals` (report.scores of eval_return: a final per run), its best final and
  the run that has it, the random return of its env task (NaN if not measured), the return of
  each fraction of the best final (NaN where the best final is not above random, or where that
  return is not: random actions reach it, so reaching it says nothing of adaptation) and which
  fractions were dropped for being at or below random."""
  rows = []
  for task, runs in finals.dropna(subset=['final']).groupby('task'):
    best = runs.loc[runs.final.idxmax()]
    floor = random.get(best.env, np.nan)
    learned = np.isnan(floor) or best.final > floor  # Without a random return: unchecked.
    values = {fraction_name(f): f * best.final for f in fractions}
    at_floor = [name for name, value in values.items() if learned and value <= floor]
    rows.append(dict(
        task=task, best=best.final, best_run=best.run, env=best.env, random=floor,
        learned=learned, at_floor=at_floor,
        **{name: value if learned and name not in at_floor else np.nan
           for name, value in values.items()}))
  columns = [
      'task', 'best', 'best_run', 'env', 'random', 'learned', 'at_floor',
      *map(fraction_name, fractions)]
  return pd.DataFrame(rows, columns=columns).set_index('task')


def outcomes(name, runs, values):
  """Per run (metric values with their task, logdir and step) whose task has a threshold in
  `values` (indexed by task; NaN: none), the step of its first value at or above it (NaN if
  none: not reached) and its last evaluated step, under the threshold's `name`."""
  rows = []
  for logdir, run in runs[runs.task.map(values).notna()].groupby('logdir'):
    threshold = values[run.task.iloc[0]]
    rows.append(dict(
        logdir=logdir, threshold=name, frames=run.step[run.value >= threshold].min(),
        last_step=run.step.max()))
  return pd.DataFrame(rows, columns=OUTCOMES)


def reached(frames, last_step):
  return f'not reached by {last_step:,.0f} frames' if np.isnan(frames) else f'{frames:,.0f}'


def over_seeds(runs):
  """The mean frames of the runs if all reached the threshold; else how many did, and theirs."""
  frames = runs.frames.dropna()
  if len(frames) == len(runs):
    return f'{frames.mean():,.0f}'
  listed = ', '.join(f'{step:,.0f}' for step in frames)
  return f'{len(frames)} of {len(runs)} reached' + f': {listed}' * bool(listed)


def markdown(header, aligns, rows):
  """A markdown table of a header, its columns' alignments ('---' or '---:') and rows of cells."""
  return [f'| {" | ".join(map(str, cells))} |' for cells in [header, aligns, *rows]] + ['']


def threshold_table(thresholds, fractions):
  """Per task its best final and run, its random return and return thresholds, and a note if
  they were not checked against random or not computed."""
  names = list(map(fraction_name, fractions))
  rows = []
  for task, row in thresholds.iterrows():
    floor = '—' if np.isnan(row.random) else (
        f'{row.random:.2f}' + f' ({row.env})' * (row.env != task))
    values = ['—' if np.isnan(row[name]) else f'{row[name]:.2f}' for name in names]
    note = '' if row.learned else NOTHING_LEARNED
    if row.at_floor:
      note = f'{" and ".join(row.at_floor)}: at or below random, not computed'
    if np.isnan(row.random):
      note = f'no random return of {row.env} given: not checked against random'
    rows.append([task, f'{row.best:.2f} ({row.best_run})', floor, *values, note])
  return markdown(
      ['task', 'best final (run)', 'random', *names, 'note'],
      ['---', '---:', '---:', *['---:'] * len(names), '---'], rows)


def frames_tables(results, names):
  """The frames of each run to each threshold, then per task and method over its seeds."""
  cells = results.assign(cell=list(map(reached, results.frames, results.last_step)))
  per_run = cells.pivot(
      index=['task', 'method', 'seed', 'run'], columns='threshold', values='cell')
  per_run = per_run.reindex(columns=names).fillna('—')
  summary = results.groupby(['task', 'method', 'threshold']).apply(
      over_seeds, include_groups=False).unstack().reindex(columns=names).fillna('—')
  summary.insert(0, 'runs', results.groupby(['task', 'method']).logdir.nunique())
  return [
      *markdown(
          ['task', 'method', 'seed', 'run', *names], ['---', '---', '---:', '---',
          *['---:'] * len(names)], [[*key, *row] for key, row in per_run.iterrows()]),
      'Over seeds:', '',
      *markdown(
          ['task', 'method', 'runs', *names], ['---', '---', '---:', *['---:'] * len(names)],
          [[*key, *row] for key, row in summary.iterrows()])]


def section(returns, finals, successes, info, fractions=(), success=None, random=None):
  """The report's section: the return thresholds per task (fractions of its best final of
  eval_return in `finals`, unless no run beat `random`, the random return per env task), and the
  frames to them and to an eval_success of `success` of each run in `returns` and `successes`
  (the finished runs' values) and per method over seeds."""
  thresholds = return_thresholds(finals, fractions, random or {})
  criteria = [(name, returns, thresholds[name]) for name in map(fraction_name, fractions)]
  if success is not None:
    every_task = pd.Series(success, index=successes.task.unique())
    criteria.append((success_name(success), successes, every_task))
  names = [name for name, _, _ in criteria]
  found = [table for table in map(lambda c: outcomes(*c), criteria) if not table.empty]
  results = (pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=OUTCOMES)).join(
      info[['task', 'method', 'seed', 'run']], on='logdir')
  lines = [
      '## Frames to threshold', '',
      'Over the finished runs of each task, pooling any seed groups. **best final**: the highest '
      'final eval_return of its runs; **random**: the mean return of random actions on its env '
      'task. The return thresholds are fractions of the best final, computed only where the '
      'best final and the threshold itself are above random. A run\'s frames to a threshold are the step of its first evaluation at or '
      'above it; a run that never reached it is "not reached by N frames", N its last '
      'evaluated step. **eval_success**: the share of an evaluation\'s episodes that reached the '
      'goal (goal tasks only). Over seeds: the mean frames when every run reached the '
      'threshold, else how many did and their frames.', '']
  lines += threshold_table(thresholds, fractions) if fractions else []
  if results.empty:
    return [*lines, 'No run has a threshold to reach.', '']
  return [*lines, *frames_tables(results, names)]
