"""Learning curves and trajectories from the logdirs of train.py.

Learning curves, a panel per task, per method a thin line for each seed and a thick one for their
mean, with a band of ± the sample std over seeds (ddof=1; none for one seed) (Figs. 4, 5, 6b, 9):

  python -m dreamer_lsp.plot LOGDIR_OR_ROOT [...] --out curves.png [--metric eval_return]
      [--tasks TASK ...] [--methods METHOD ...] [--bins 50]

A metric with a reference (REFERENCES: `skill_r2` and `skill_r2_start`) has it drawn dashed in
each method's colour.

2D root positions of the last episodes of one run, with the states where a new skill starts, the
goal and the obstacles (Figs. 1, 8):

  python -m dreamer_lsp.plot trajectories LOGDIR --out traj.png [--episodes 5] [--split train]

train.py calls plot_run(logdir) at the end of a run to write LOGDIR/returns.png.

A run is a folder with a config.yaml; roots are searched recursively. Runs are grouped by the
`task` and `method` of their config, or by the names their sweep gave them (labels.yaml, written
by dreamer_lsp.sweep), so that e.g. the pixel and feature variants of a task get separate panels.
"""
import argparse
import itertools
import json
import pathlib
import sys

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch

from dreamer_lsp import config as config_lib


def find_logdirs(paths):
  logdirs = set()
  for path in map(pathlib.Path, paths):
    if not path.exists():
      raise ValueError(f'{path} does not exist.')
    logdirs.update(config.parent for config in path.rglob('config.yaml'))
  return sorted(logdirs)


def load_metrics(logdir):
  """The metrics.jsonl of a run as a frame, one row per line; lines that are not a record with
  a numeric step (the last line of a run killed while writing it) are left out."""
  path = pathlib.Path(logdir) / 'metrics.jsonl'
  rows = []
  for line in path.read_text().splitlines() if path.exists() else []:
    try:
      record = json.loads(line)
    except json.JSONDecodeError:
      continue
    if isinstance(record, dict) and isinstance(record.get('step'), (int, float)):
      rows.append(record)
  return pd.DataFrame(rows)


def run_labels(logdir):
  """The config of a run, and its task, method and seed: the config's, or its sweep's names."""
  logdir = pathlib.Path(logdir)
  config = config_lib.load_yaml(logdir / 'config.yaml')
  labels = {}
  if (logdir / 'labels.yaml').exists():
    labels = config_lib.load_yaml(logdir / 'labels.yaml')
  missing = sorted({'task', 'method', 'seed'} - config.keys())
  if missing:
    raise ValueError(f'{logdir / "config.yaml"} has no {", ".join(missing)}.')
  return config, dict(
      task=labels.get('task', config['task']), method=labels.get('method', config['method']),
      seed=config['seed'])


def load_runs(paths, metric):
  """Every recorded value of the metric, with the task, method, seed and logdir of its run."""
  frames = []
  for logdir in find_logdirs(paths):
    metrics = load_metrics(logdir)
    if metric not in metrics:
      continue
    _, labels = run_labels(logdir)
    frame = metrics[['step', metric]].rename(columns={metric: 'value'})
    frame['value'] = pd.to_numeric(frame.value, errors='coerce')  # A corrupt value: left out.
    frame = frame.dropna()
    frames.append(frame.assign(**labels, logdir=str(logdir)))
  columns = ['task', 'method', 'seed', 'logdir', 'step', 'value']
  return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


# Metrics whose figures also draw a reference metric, dashed: skill_r2 (the skill decoded from the
# behaviour under it) beside skill_r2_start (decoded from the observation it started at alone).
REFERENCES = {'skill_r2': 'skill_r2_start'}


def aggregate(runs, bins):
  """Mean, sample std (ddof=1) and count over the runs of each task and method, at `bins` steps
  per task.

  The grid spans the task's steps. Each run's values are averaged at their nearest grid step, and
  grid steps without a value inside the run's range are interpolated, so that runs that log at
  different steps can be averaged.
  """
  curves = []
  for task, frame in runs.groupby('task'):
    grid = np.linspace(0, frame.step.max(), bins)
    for (method, logdir), run in frame.groupby(['method', 'logdir']):
      nearest = np.abs(run.step.to_numpy()[:, None] - grid).argmin(1)
      values = run.value.groupby(nearest).mean().reindex(range(bins))
      curves.append(pd.DataFrame(dict(
          task=task, method=method, step=grid,
          value=values.interpolate(limit_area='inside').to_numpy())))
  grouped = pd.concat(curves).groupby(['task', 'method', 'step']).value
  stats = pd.DataFrame(dict(
      mean=grouped.mean(), std=grouped.std(ddof=1), runs=grouped.count()))
  return stats.reset_index().dropna(subset=['mean'])


def plot_curves(curves, out, metric, reference=None, runs=None):
  """One panel per task, per method a line of the mean and a band of ± the sample std, the same
  color in every panel, and a thin line for each run in `runs` (as load_runs gives them); the
  means of REFERENCES[metric] (`reference`, curves as `curves`) dashed. Returns the figure."""
  tasks = sorted(curves.task.unique())
  methods = sorted(set(curves.method) | set([] if reference is None else reference.method))
  colors = dict(zip(methods, itertools.cycle(matplotlib.colormaps['tab10'].colors)))
  cols = min(len(tasks), 4)
  rows = -(-len(tasks) // cols)
  entries = len(methods) + 1 + (runs is not None) + (reference is not None)
  legend_cols = min(len(methods), 2 * cols)  # About two names fit across a panel.
  legend_rows = -(-entries // legend_cols)
  fig = Figure(figsize=(4 * cols, 3 * rows + 0.3 + 0.25 * legend_rows), layout='constrained')
  axes = fig.subplots(rows, cols, squeeze=False).flatten()
  for ax, task in zip(axes, tasks):
    if runs is not None:
      for (method, _), run in runs[runs.task == task].groupby(['method', 'logdir']):
        run = run.sort_values('step')
        ax.plot(run.step, run.value, color=colors[method], linewidth=0.6, alpha=0.5)
    for method, curve in curves[curves.task == task].groupby('method'):
      color = colors[method]
      ax.plot(curve.step, curve['mean'], color=color, linewidth=2)
      ax.fill_between(
          curve.step, curve['mean'] - curve['std'], curve['mean'] + curve['std'],
          color=color, alpha=0.2, linewidth=0)
    if reference is not None:
      for method, curve in reference[reference.task == task].groupby('method'):
        ax.plot(curve.step, curve['mean'], color=colors[method], linestyle='--')
    ax.set_title(task)
    ax.set_xlabel('environment steps')
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
  for ax in axes[len(tasks):]:
    ax.axis('off')
  handles = [Line2D([], [], color=colors[method], linewidth=2) for method in methods]
  labels = list(methods)
  handles.append(Patch(color='0.4', alpha=0.2, linewidth=0))
  labels.append('thick and band: mean ± sample std over seeds (ddof=1)')
  if runs is not None:
    handles.append(Line2D([], [], color='0.4', linewidth=0.6, alpha=0.5))
    labels.append('thin: each seed')
  if reference is not None:
    handles.append(Line2D([], [], color='0.4', linestyle='--'))
    labels.append(f'dashed: {REFERENCES[metric]}')
  fig.legend(handles, labels, loc='outside lower center', ncol=legend_cols)
  fig.savefig(out, dpi=150)
  return fig


def curves(paths, out, metric='eval_return', tasks=None, methods=None, bins=50):
  """Plot the learning curves of the runs under paths, each run's and their mean with the metric's
  reference if it has one; returns the plotted means and stds of the metric."""
  def select(metric):
    runs = load_runs(paths, metric)
    if tasks:
      runs = runs[runs.task.isin(tasks)]
    if methods:
      runs = runs[runs.method.isin(methods)]
    return runs

  runs = select(metric)
  if runs.empty:
    raise ValueError(f'No runs with {metric} found in {list(map(str, paths))}.')
  data = aggregate(runs, bins)
  reference = select(REFERENCES[metric]) if metric in REFERENCES else pd.DataFrame()
  plot_curves(data, out, metric, None if reference.empty else aggregate(reference, bins), runs)
  return data


def plot_run(logdir, keys=('train_return', 'eval_return')):
  """Write LOGDIR/returns.png: the returns of one run against environment steps."""
  logdir = pathlib.Path(logdir)
  metrics = load_metrics(logdir)
  fig = Figure(figsize=(6, 4), layout='constrained')
  ax = fig.subplots()
  for key in keys:
    if key in metrics:
      points = metrics[['step', key]].dropna()
      ax.plot(points.step, points[key], marker='.', label=key)
  ax.set_title(_name(logdir))
  ax.set_xlabel('environment steps')
  ax.set_ylabel('return')
  ax.grid(alpha=0.3)
  ax.legend()
  fig.savefig(logdir / 'returns.png', dpi=150)


def _name(logdir):
  return str(pathlib.Path(*pathlib.Path(logdir).resolve().parts[-3:]))


def _per_sim_step(quantity, dims):
  # The envs record `log_*` quantities per simulator step, (T, action_repeat, *shape): merge the
  # two time axes. Quantities recorded as (T, *shape) pass unchanged.
  return quantity.reshape(-1, *quantity.shape[quantity.ndim - dims:])


def plot_trajectories(logdir, out, episodes=5, split='train'):
  """Root x-y paths, dots where a new skill starts, the goal as a red star, obstacles as disks.

  The point task's `log_pos` stands in for a quadruped's `log_root_pos`.
  """
  import tools  # Imports TensorFlow, which the other plots need not.
  episodes = tools.load_episodes(pathlib.Path(logdir) / f'{split}_eps', last=episodes)
  episodes = [
      dict(episode, position=episode.get('log_root_pos', episode.get('log_pos')))
      for episode in episodes.values()]
  episodes = [episode for episode in episodes if episode['position'] is not None]
  if not episodes:
    raise ValueError(f'No {split} episodes with log_root_pos or log_pos in {logdir}.')
  fig = Figure(figsize=(6, 6), layout='constrained')
  ax = fig.subplots()
  # Obstacles and goals are usually the same in many episodes: draw each once.
  obstacles = {
      tuple(obstacle) for episode in episodes if 'log_obstacles' in episode
      for obstacle in _per_sim_step(episode['log_obstacles'], 2)[0]}
  for x, y, radius in obstacles:
    ax.add_patch(Circle((x, y), radius, color='0.6', alpha=0.6, linewidth=0))
  colors = matplotlib.colormaps['viridis'](np.linspace(0, 0.9, len(episodes)))
  for index, (episode, color) in enumerate(zip(episodes, colors)):
    labels = ('start', 'new skill') if index == 0 else (None, None)  # One legend entry each.
    path = _per_sim_step(episode['position'], 1)[:, :2]
    ax.plot(*path.T, color=color, linewidth=1)
    ax.scatter(*path[0], color=color, marker='s', s=30, zorder=3, label=labels[0])
    if 'skill_switch' in episode:
      switch = episode['skill_switch'].astype(bool)
      nodes = path[::len(path) // len(switch)][switch]  # First simulator step of each agent step.
      ax.scatter(*nodes.T, color=color, s=12, zorder=3, label=labels[1])
  goals = {tuple(_per_sim_step(e['log_goal'], 1)[-1]) for e in episodes if 'log_goal' in e}
  if goals:
    ax.scatter(*np.array(sorted(goals)).T, color='red', marker='*', s=250, zorder=4, label='goal')
  ax.set_title(f'{_name(logdir)}: last {len(episodes)} {split} episodes')
  ax.set_xlabel('x')
  ax.set_ylabel('y')
  ax.set_aspect('equal', adjustable='datalim')
  ax.grid(alpha=0.3)
  ax.legend()
  fig.savefig(out, dpi=150)
  return fig


def main(argv=None):
  argv = sys.argv[1:] if argv is None else argv
  trajectories = argv[:1] == ['trajectories']
  parser = argparse.ArgumentParser(
      'python -m dreamer_lsp.plot' + ' trajectories' * trajectories,
      description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--out', type=pathlib.Path, required=True)
  if trajectories:
    parser.add_argument('logdir', type=pathlib.Path)
    parser.add_argument('--episodes', type=int, default=5)
    parser.add_argument('--split', choices=['train', 'eval'], default='train')
    args = parser.parse_args(argv[1:])
    code = exit_code(plot_trajectories, args.logdir, args.out, args.episodes, args.split)
  else:
    parser.add_argument('paths', nargs='+', type=pathlib.Path)
    parser.add_argument('--metric', default='eval_return')
    parser.add_argument('--tasks', nargs='+')
    parser.add_argument('--methods', nargs='+')
    parser.add_argument('--bins', type=int, default=50, help='grid steps per task')
    args = parser.parse_args(argv)
    code = exit_code(
        curves, args.paths, args.out, args.metric, args.tasks, args.methods, args.bins)
  if code == 0:
    print(f'Wrote {args.out}')
  return code


def exit_code(function, *args):
  """Calls function(*args): 0; or, instead of a traceback, one line for a bad input (ValueError)
  or a failed read or write (OSError), and 2 or 1."""
  try:
    function(*args)
  except ValueError as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  except OSError as e:
    print(f'error: {e.strerror or e}: {e.filename}', file=sys.stderr)
    return 1
  return 0


if __name__ == '__main__':
  sys.exit(main())
