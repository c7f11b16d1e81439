"""Env speed with random actions: python -m dreamer_lsp.envs.bench [--pixels] [--tasks ...]"""

import argparse
import time

from dreamer_lsp.envs import TASKS, make_env


def measure(task, obs, steps, action_repeat=2):
  """Agent steps per second, timing steps only (resets excluded)."""
  env = make_env(task, obs=obs, action_repeat=action_repeat)
  env.reset()
  elapsed = 0.0
  for _ in range(steps):
    action = env.act_space.sample()
    start = time.perf_counter()
    _, _, done, _ = env.step(action)
    elapsed += time.perf_counter() - start
    if done:
      env.reset()
  env.close()
  return steps / elapsed


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--tasks', nargs='+', default=TASKS)
  parser.add_argument('--pixels', action='store_true')
  parser.add_argument('--steps', type=int, default=1000)
  args = parser.parse_args()
  obs = 'pixels' if args.pixels else 'features'
  print(f'{"task":<26}{"agent steps/s":>14}{"sim steps/s":>13}  ({obs}, action repeat 2)')
  for task in args.tasks:
    if obs == 'pixels' and task.startswith('gym:'):
      continue
    speed = measure(task, obs, args.steps)
    print(f'{task:<26}{speed:>14.0f}{2 * speed:>13.0f}')


if __name__ == '__main__':
  main()
