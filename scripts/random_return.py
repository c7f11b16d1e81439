"""The return of uniformly random actions on tasks: the floor that a result must beat.

  .venv/bin/python -m scripts.random_return quadruped_reach quadruped_cove --episodes 20

For each task, the mean and standard deviation of the episode return over `--episodes` episodes
(one env seed each, from 10,000 on like train.py's eval env), with the action repeat and time
limit of the `--configs` presets (default `cpu dmc_proprio`, the results' presets), and the
share of episodes with any reward at all (for a sparse task: how often it is solved by chance).
Prints one JSON object per task.
"""
import argparse
import json
import sys

import numpy as np

from dreamer_lsp import config as config_lib
from dreamer_lsp import envs


def random_returns(task, episodes, action_repeat, time_limit):
  returns = []
  for index in range(episodes):
    env = envs.make_env(
        task, action_repeat=action_repeat, time_limit=time_limit, seed=10_000 + index)
    rng = np.random.RandomState(index)
    env.reset()
    done, total = False, 0.0
    while not done:
      action = rng.uniform(env.act_space.low, env.act_space.high).astype(np.float32)
      _, reward, done, _ = env.step(action)
      total += reward
    env.close()
    returns.append(total)
  return np.array(returns)


def main(argv):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('tasks', nargs='+')
  parser.add_argument('--episodes', type=int, default=20)
  parser.add_argument('--configs', nargs='+', default=['cpu', 'dmc_proprio'])
  args = parser.parse_args(argv)
  config = config_lib.build(args.configs, {})
  for task in args.tasks:
    envs.check_task(task)
  for task in args.tasks:
    returns = random_returns(task, args.episodes, config.action_repeat, config.time_limit)
    print(json.dumps(dict(
        task=task, episodes=args.episodes, mean=round(float(returns.mean()), 2),
        std=round(float(returns.std(ddof=1)), 2), rewarded=float((returns > 0).mean()),
        action_repeat=config.action_repeat, time_limit=config.time_limit)), flush=True)


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
