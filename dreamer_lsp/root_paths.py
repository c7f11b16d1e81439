"""The x-y paths of the quadruped's torso in the first frames of training (Fig. 8: the first 40k
frames on the cove after transfer, Dreamer beside LSP with a fixed low-level policy).

  python -m dreamer_lsp.root_paths LOGDIR [LOGDIR ...] --out FIG.png [--frames 40000]

One panel per run, side by side with the same axes: each train episode is a line coloured by the
frame it started at, in the goal frame (the start at the origin and the goal on the x-axis, as
the obstacle layouts are defined; the goal's direction is random per episode). Dots mark the
states where a new skill starts (LSP), grey disks the obstacles that every episode shares (the
cove's walls). Frames count as the `step` of metrics.jsonl does: agent steps x action_repeat from
the first episode on, prefill included.

It prints, for each run, how far its paths get from their start: the median over episodes of
each one's farthest distance and of its farthest advance toward the goal, and the largest.

A run's train episodes are read if it has them, else its root_paths.npz: `python -m
dreamer_lsp.sweep --collect` writes that file (the paths of the first FRAMES frames) for each
finished run whose episodes log `log_root_pos`, so that committed runs, which have no episodes,
can draw it. The first frames of a run still training are final once it is past them: `--save
DIR` writes each run's paths of the --frames drawn into DIR/TASK/METHOD/seedS (the logdir's last
three parts) with its config.yaml and labels.yaml, which the figure can be drawn from as from a
collected run, without the episodes.
"""
import argparse
import pathlib
import shutil
import sys

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from dreamer_lsp import config as config_lib
from dreamer_lsp import plot

FRAMES = 40_000  # What --collect keeps: Fig. 8 shows the first 40k frames.
FILENAME = 'root_paths.npz'
POSITION = 'log_root_pos'  # Per simulator step; the last one ends the agent step.


def read(logdir):
  """The run's train episodes that log root positions, oldest first (file names begin with the
  time they were saved), each as `position` [T + 1, 2], x-y after each agent step (index 0 the
  reset); `start` [T + 1], whether a new skill starts at that state; and `goal` [2] and
  `obstacles` [K, 3] (x, y, radius) where the task logs them. Files are read as they are used."""
  for filename in sorted((pathlib.Path(logdir) / 'train_eps').glob('*.npz')):
    with np.load(filename) as data:
      if POSITION not in data.files:
        continue
      position = data[POSITION][:, -1, :2]
      start = np.zeros(len(position), bool)
      if 'skill_switch' in data.files:
        # Entry t holds the skill of the step taken from the state of entry t - 1.
        start[:-1] = data['skill_switch'][1:]
      episode = dict(position=position, start=start)
      for key, name in (('goal', 'log_goal'), ('obstacles', 'log_obstacles')):
        if name in data.files:
          episode[key] = data[name][0, 0]  # The same at every step of an episode.
    yield episode


def first_frames(episodes, frames, action_repeat):
  """The episodes that make the first `frames` frames, the last one cut where they end, each
  with the `frame` it starts at."""
  steps, done = frames // action_repeat, 0
  for episode in episodes:
    if done >= steps:
      return
    keep = min(len(episode['position']) - 1, steps - done)
    yield dict(
        episode, position=episode['position'][:keep + 1], start=episode['start'][:keep + 1],
        frame=done * action_repeat)
    done += keep


def frames_held(episodes, action_repeat):
  return sum(len(episode['position']) - 1 for episode in episodes) * action_repeat


def save(path, episodes, frames):
  """Writes the episodes' paths, cut at `frames`, into one small file: positions as float16,
  whose few millimetres of error at the cove's distances are far below a line's width."""
  arrays = dict(
      frames=frames, lengths=[len(episode['position']) for episode in episodes],
      position=np.concatenate([episode['position'] for episode in episodes]).astype(np.float16),
      start=np.concatenate([episode['start'] for episode in episodes]))
  for key in ('goal', 'obstacles'):
    if all(key in episode for episode in episodes):
      arrays[key] = np.stack([episode[key] for episode in episodes]).astype(np.float32)
  np.savez_compressed(path, **arrays)


def load(path):
  """The episodes that `save` wrote, and the frames they were cut at."""
  with np.load(path) as data:
    data = dict(data)
  bounds = np.cumsum(data['lengths'])[:-1]
  episodes = [
      dict(position=position.astype(np.float32), start=start) for position, start in zip(
          np.split(data['position'], bounds), np.split(data['start'], bounds))]
  for key in ('goal', 'obstacles'):
    for episode, value in zip(episodes, data.get(key, [])):
      episode[key] = value
  return episodes, int(data['frames'])


def run_paths(logdir, frames):
  """The paths of the run's first `frames` frames: from its episodes, else its root_paths.npz;
  raises ValueError if it holds fewer frames (a run still training, or a short one)."""
  logdir = pathlib.Path(logdir)
  action_repeat = config_lib.load_run(logdir / 'config.yaml').action_repeat
  episodes = list(first_frames(read(logdir), frames, action_repeat))
  if episodes:
    held = frames_held(episodes, action_repeat)
    # Half an agent step is never taken: 17 frames at action repeat 2 are 16.
    if held < frames - frames % action_repeat:
      raise ValueError(
          f'{logdir}\'s train episodes hold {held} frames, fewer than the {frames} asked for.')
    return episodes
  if not (logdir / FILENAME).exists():
    raise ValueError(f'{logdir} has neither train episodes with {POSITION} nor {FILENAME}.')
  episodes, saved = load(logdir / FILENAME)
  if frames > saved:
    raise ValueError(
        f'{logdir / FILENAME} holds the first {saved} frames, fewer than the {frames} asked for.')
  return list(first_frames(episodes, frames, action_repeat))


def collect(logdir, target, frames=FRAMES):
  """Writes TARGET/root_paths.npz, the paths of the run's first `frames` frames (all of them in a
  shorter run), if its episodes log root positions; returns whether it did."""
  if next(read(logdir), None) is None:
    return False
  action_repeat = config_lib.load_run(pathlib.Path(logdir) / 'config.yaml').action_repeat
  episodes = list(first_frames(read(logdir), frames, action_repeat))
  save(pathlib.Path(target) / FILENAME, episodes,
       min(frames, frames_held(episodes, action_repeat)))
  return True


def save_run(logdir, episodes, frames, save_root):
  """Writes the run's paths of its first `frames` frames (`run_paths`), with its config.yaml and
  labels.yaml, into SAVE_ROOT/TASK/METHOD/seedS (the logdir's last three parts); returns that
  folder."""
  logdir = pathlib.Path(logdir).resolve()
  target = pathlib.Path(save_root).joinpath(*logdir.parts[-3:])
  target.mkdir(parents=True, exist_ok=True)
  for name in ('config.yaml', 'labels.yaml'):
    if (logdir / name).exists():
      shutil.copy2(logdir / name, target / name)
  save(target / FILENAME, episodes, frames)
  return target


def goal_frame(episode):
  """The episode turned about the start so that its goal lies on the x-axis; unchanged without a
  goal."""
  if 'goal' not in episode:
    return episode
  cos, sin = episode['goal'] / np.linalg.norm(episode['goal'])
  turn = lambda points: points @ np.array([[cos, -sin], [sin, cos]])
  episode = dict(episode, position=turn(episode['position']), goal=turn(episode['goal']))
  if 'obstacles' in episode:
    obstacles = episode['obstacles']
    episode['obstacles'] = np.concatenate([turn(obstacles[:, :2]), obstacles[:, 2:]], 1)
  return episode


def plot_runs(runs, out, frames, title):
  """One panel per run, given as (name, episodes), with the same axes; returns the figure."""
  fig = Figure(figsize=(4 * len(runs) + 1.5, 4.8), layout='constrained')
  axes = fig.subplots(1, len(runs), sharex=True, sharey=True, squeeze=False)[0]
  colors = matplotlib.cm.ScalarMappable(matplotlib.colors.Normalize(0, frames), 'viridis')
  marks = {}
  for ax, (name, episodes) in zip(axes, runs):
    episodes = [goal_frame(episode) for episode in episodes]
    for x, y, radius in _shared(episodes, 'obstacles'):
      marks['obstacle'] = ax.add_patch(
          Circle((x, y), radius, color='0.6', alpha=0.6, linewidth=0))
    for episode in episodes:
      color = colors.to_rgba(episode['frame'])
      ax.plot(*episode['position'].T, color=color, linewidth=0.6)
      if episode['start'].any():
        marks['a new skill starts'] = ax.scatter(
            *episode['position'][episode['start']].T, color=color, s=3, zorder=3)
    starts = np.array([episode['position'][0] for episode in episodes])
    marks['start'] = ax.scatter(*starts.T, color='black', marker='s', s=30, zorder=4)
    for goal in _shared(episodes, 'goal'):
      marks['goal'] = ax.scatter(*goal, color='red', marker='*', s=250, zorder=4)
    ax.set_title(f'{name}: {len(episodes)} episodes')
    ax.set_xlabel('x towards the goal (m)')
    ax.set_aspect('equal', adjustable='box')
    ax.grid(alpha=0.3)
  axes[0].set_ylabel('y (m)')
  fig.colorbar(colors, ax=axes, label='frame at the start of the episode')
  fig.legend(marks.values(), marks.keys(), loc='outside lower center', ncol=len(marks))
  # Two lines, so that the title of a one-panel figure fits its width.
  fig.suptitle(f'{title}\nroot x-y paths of the first {frames:,} frames, in the goal frame')
  fig.savefig(out, dpi=150)
  return fig


def _shared(episodes, key):
  """The rows of `key` (goal, obstacles) that every episode has; rounded, so that one layout
  turned back from each episode's goal is found to be one."""
  return set.intersection(*(
      {tuple(row) for row in np.round(np.atleast_2d(episode[key]), 2)} if key in episode
      else set() for episode in episodes))


def spread(episodes):
  """How far the paths get, each from its own start: per episode the farthest distance from the
  start and the farthest advance toward the goal (along the goal frame's x-axis); the median over
  episodes and the largest of each, in meters."""
  far, ahead = [], []
  for episode in map(goal_frame, episodes):
    path = episode['position'] - episode['position'][0]
    far.append(np.linalg.norm(path, axis=1).max())
    ahead.append(path[:, 0].max())
  return dict(episodes=len(far), far_median=float(np.median(far)), far_max=float(np.max(far)),
              ahead_median=float(np.median(ahead)), ahead_max=float(np.max(ahead)))


def draw(logdirs, out, frames, save_root=None):
  """Plots the paths of the runs' first `frames` frames, the runs named by their sweep, and
  prints how far they get (`spread`); with `save_root`, saves them there too (`save_run`)."""
  runs, tasks = [], {}
  for logdir in logdirs:
    _, labels = plot.run_labels(logdir)
    runs.append((f'{labels["method"]} seed {labels["seed"]}', run_paths(logdir, frames)))
    if save_root:
      print(f'Saved the paths of {logdir} in {save_run(logdir, runs[-1][1], frames, save_root)}')
    tasks[labels['task']] = None  # Each once, in order.
  for name, episodes in runs:
    s = spread(episodes)
    print(f'{name}: {s["episodes"]} episodes; farthest from the start median '
          f'{s["far_median"]:.2f} m, max {s["far_max"]:.2f} m; farthest toward the goal median '
          f'{s["ahead_median"]:.2f} m, max {s["ahead_max"]:.2f} m')
  plot_runs(runs, out, frames, ', '.join(tasks))


def main(argv=None):
  parser = argparse.ArgumentParser(
      'python -m dreamer_lsp.root_paths', description=__doc__,
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('logdirs', nargs='+', type=pathlib.Path)
  parser.add_argument('--out', type=pathlib.Path, required=True)
  parser.add_argument('--frames', type=int, default=FRAMES)
  parser.add_argument(
      '--save', type=pathlib.Path, metavar='DIR',
      help='also save each run\'s paths of these frames under DIR/TASK/METHOD/seedS')
  args = parser.parse_args(argv)
  if args.frames < 1:
    parser.error(f'--frames must be at least 1, got {args.frames}.')
  code = plot.exit_code(draw, args.logdirs, args.out, args.frames, args.save)
  if code == 0:
    print(f'Wrote {args.out}')
  return code


if __name__ == '__main__':
  sys.exit(main())
