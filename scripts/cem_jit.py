"""Seconds per call of LSP's training CEM alone, compiled with XLA and without, for one config:
the two agents are built in one process and timed alternately, so that load from other
processes falls on both alike. Measures the cost of a long plan horizon (the cove's H = 120),
which `python -m dreamer_lsp.bench` measures inside a much longer run.

  python -m scripts.cem_jit cpu+transfer_obstacles_to_cove --task quadruped_obstacles
"""
import argparse

from dreamer_lsp.bench import agent as bench_agent
from dreamer_lsp.bench import timing


def cem_call(presets, task, jit):
  """A function that runs one CEM on random start states, traced (and compiled) already."""
  c, agent, _, batch = bench_agent.random_agent(presets, 'lsp', task, jit)
  agent.train(batch)  # Creates the variables.
  latent = bench_agent.cem_starts(c, agent)
  cem = bench_agent.training_cem(agent, jit)
  cem(latent)
  return lambda: cem(latent).numpy()


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('config', help="presets joined by '+', as in the bench")
  parser.add_argument('--task', default='quadruped_obstacles')
  parser.add_argument('--repeats', type=int, default=3)
  args = parser.parse_args()
  calls = {jit: cem_call(args.config.split('+'), args.task, jit) for jit in (False, True)}
  seconds = {jit: [] for jit in calls}
  for _ in range(args.repeats):
    for jit, call in calls.items():
      wall, _ = timing.timeit(call, 2, warmup=0)
      seconds[jit].append(wall.mean())
  for jit, values in seconds.items():
    s = timing.stats(values)
    print(f'jit_compile={jit}: {s["median"]:.3f} s per CEM '
          f'(median of {args.repeats}, range {s["min"]:.3f}-{s["max"]:.3f})')


if __name__ == '__main__':
  main()
