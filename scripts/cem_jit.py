"""Seconds per call of LSP's training CEM alone, compiled with XLA and without, for one config:
the two agents are built in one process and timed alternately, so that load from other
processes falls on both alike. Measures the cost of a long plan horizon (the cove's H = 120),
which `python -m dreamer_lsp.bench` measures inside a much longer run. Then the graph-mode CEM's
matrix products alone, at the same shapes, in one graph: if they take most of the CEM's time,
the CEM is bound by its arithmetic, not by per-op overhead that fusing or XLA could remove.

  OMP_NUM_THREADS=1 TF_NUM_INTRAOP_THREADS=1 python -m scripts.cem_jit cpu+transfer_obstacles_to_cove
"""
import argparse

import numpy as np

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


def matmuls_alone(presets, task, **overrides):
  """The matrix products of the graph-mode CEM's graph: a function that runs them all on random
  inputs of their shapes, in one graph, their count and their GFLOP."""
  import tensorflow as tf
  c, agent, _, batch = bench_agent.random_agent(presets, 'lsp', task, False, **overrides)
  agent.train(batch)
  latent = bench_agent.cem_starts(c, agent)
  graph = bench_agent.training_cem(agent, False).get_concrete_function(latent).graph
  products = [
      (tf.random.normal(op.inputs[0].shape), tf.random.normal(op.inputs[1].shape),
       op.get_attr('transpose_a'), op.get_attr('transpose_b'))
      for op in graph.get_operations() if op.type == 'MatMul']
  flops = sum(2 * np.prod(a.shape) * (b.shape[0] if tb else b.shape[1])
              for a, b, _, tb in products)

  @tf.function
  def run():
    return tf.add_n([tf.reduce_sum(tf.matmul(a, b, transpose_a=ta, transpose_b=tb))
                     for a, b, ta, tb in products])
  run()
  return lambda: run().numpy(), len(products), flops / 1e9


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
  call, count, gflop = matmuls_alone(args.config.split('+'), args.task)
  alone = timing.stats([timing.timeit(call, 2, warmup=0)[0].mean() for _ in range(args.repeats)])
  print(f'its {count} matrix products alone ({gflop:.1f} GFLOP): {alone["median"]:.3f} s '
        f'(median of {args.repeats}, range {alone["min"]:.3f}-{alone["max"]:.3f})')


if __name__ == '__main__':
  main()
