"""Where a quadruped run's eval return comes from: getting upright, moving forward, or nearing
the goal.

  .venv/bin/python -m scripts.quadruped_posture LOGDIR [LOGDIR ...]

For each evaluation of each run (its eval episodes, in the order they were written, grouped by
the run's `eval_episodes`), the mean eval return, the mean upright factor of dm_control's
quadruped rewards ((1 + the torso's z-axis up component) / 2: 1 upright, 0 upside down; it
multiplies every step's reward of the walk and reach tasks), the mean forward speed of the
torso and, on the goal tasks, the mean over episodes of the closest the torso came to the goal
(metres; it starts 6 m away, and the reach reward is 0 there). Reads the episodes in LOGDIR/eval_eps, so it needs a run's logdir, not a collected copy.
Prints one JSON object per evaluation.
"""
import argparse
import json
import pathlib

import numpy as np

from dreamer_lsp import logdir as logdir_lib


def posture(logdir):
  """Per evaluation of the run: its index, return, upright factor and forward speed."""
  rows = []
  for index, episodes in enumerate(logdir_lib.evaluations(logdir)):
    rows.append(dict(
        eval=index,
        eval_return=float(np.mean([logdir_lib.episode_return(e) for e in episodes])),
        upright=float(np.mean([((1 + e['log_upright'][1:, :, 0]) / 2).mean() for e in episodes])),
        forward_speed=float(np.mean([e['log_torso_vel'][1:, :, 0].mean() for e in episodes])),
        **({'closest_to_goal': float(np.mean([_closest(e) for e in episodes]))}
           if 'log_goal' in episodes[0] else {})))
  return rows


def _closest(episode):
  offsets = episode['log_root_pos'][..., :2] - episode['log_goal']
  return np.linalg.norm(offsets, axis=-1).min()


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('logdirs', nargs='+', type=pathlib.Path)
  args = parser.parse_args()
  for logdir in args.logdirs:
    for row in posture(logdir):
      print(json.dumps({'run': str(logdir), **{
          k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}}))


if __name__ == '__main__':
  main()
